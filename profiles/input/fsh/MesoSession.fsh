Profile: MesoSession
Parent: Procedure
Id: meso-session
Title: "meso-fhir session"
Description: "One mesotherapy session of a course: when, by whom, which areas, why; the injections given are MedicationAdministrations partOf it. The indication binding is extensible: an EHR may code it in SNOMED CT."
* insert Publication
* identifier 1..*
* extension contains SessionNumber named sessionNumber 1..1
* extension[sessionNumber].url = "https://meso-fhir.org/fhir/StructureDefinition/session-number" (exactly)
* basedOn 1..1
* basedOn only Reference(CarePlan)
* code 1..1
* insert RequiredCoding(code, mesotherapy, $meso, mesotherapy)
* code.coding contains generic 0..1
* code.coding[generic] = $sct#432102000
* code.coding[generic] ^short = "Generic SNOMED CT parent (no SNOMED CT concept for mesotherapy exists)"
* subject only Reference(Patient)
* performed[x] 1..1
* performed[x] only dateTime
* performer 0..*
* performer.actor only Reference(Practitioner)
* performer.onBehalfOf only Reference(Organization)
* bodySite 1..*
* bodySite from MesoBodySite (extensible)
* reasonCode 1..*
* reasonCode from MesoIndication (extensible)
* complication 0..*
* complication from MesoReaction (extensible)
