Profile: MesoCourse
Parent: CarePlan
Id: meso-course
Title: "meso-fhir course"
Description: "A planned course of mesotherapy: the indication, the treated areas, the planned number of sessions (3 to 5) and the planned interval between them. The indication binding is extensible: an EHR may code it in SNOMED CT."
* insert Publication
* obeys meso-course-1 and meso-course-2
* identifier 1..*
* extension contains TreatmentArea named treatmentArea 0..*
* extension[treatmentArea].url = "https://meso-fhir.org/fhir/StructureDefinition/treatment-area" (exactly)
* intent = #plan (exactly)
* subject only Reference(Patient)
* period 1..1
* period.start 1..1
* title 0..1
* activity 1..1
* activity.detail 1..1
* activity.detail.kind 1..1
* activity.detail.kind = #ServiceRequest (exactly)
* activity.detail.code 1..1
* insert RequiredCoding(activity.detail.code, mesotherapy, $meso, mesotherapy)
* activity.detail.code.coding contains generic 0..1
* activity.detail.code.coding[generic] = $sct#432102000
* activity.detail.code.coding[generic] ^short = "Generic SNOMED CT parent (no SNOMED CT concept for mesotherapy exists)"
* activity.detail.reasonCode 1..*
* activity.detail.reasonCode from MesoIndication (extensible)
* activity.detail.scheduled[x] 1..1
* activity.detail.scheduled[x] only Timing
* activity.detail.scheduledTiming.repeat 1..1
* activity.detail.scheduledTiming.repeat.count 1..1
* activity.detail.scheduledTiming.repeat.period 1..1
* activity.detail.scheduledTiming.repeat.periodUnit 1..1

Invariant: meso-course-1
Description: "A course plans 3 to 5 sessions."
Severity: #error
Expression: "activity.detail.scheduledTiming.repeat.count.all($this >= 3 and $this <= 5)"

// Invariants restating constraints inside backbone elements: @medplum/core 4.5.2 validates
// backbone elements (dosage, activity.detail, component) against the base resource and so does
// not see a profile's cardinalities, fixed values and bindings there; an invariant on the resource
// is checked by both @medplum/core and pyfhircheck.
Invariant: meso-course-2
Description: "The planned activity is mesotherapy (kind ServiceRequest, local code mesotherapy) for an indication, with a planned session count and interval."
Severity: #error
Expression: "activity.detail.exists() and activity.detail.all(kind = 'ServiceRequest' and code.coding.where(system = 'https://meso-fhir.org/fhir/CodeSystem/meso' and code = 'mesotherapy').exists() and reasonCode.exists() and scheduledTiming.repeat.count.exists() and scheduledTiming.repeat.period.exists() and scheduledTiming.repeat.periodUnit.exists())"
