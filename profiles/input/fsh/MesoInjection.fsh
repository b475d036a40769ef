Profile: MesoInjection
Parent: MedicationAdministration
Id: meso-injection
Title: "meso-fhir injection"
Description: "One injection of a session: the product (a contained Medication with its substances and lot number), the volume in mL, the site, the route (intradermal or subcutaneous), the technique, the depth and the needle. The technique binding is extensible (the local techniques, or a standard method code such as R4's example SNOMED CT ones)."
* insert Publication
* obeys meso-inj-1 and meso-inj-2
* identifier 1..*
* medication[x] only Reference(Medication)
* subject only Reference(Patient)
* partOf 1..*
* partOf only Reference(Procedure)
* performer.actor only Reference(Practitioner)
* effective[x] only dateTime
* dosage 1..1
* dosage.extension contains InjectionDepth named injectionDepth 0..1 and Needle named needle 0..1
* dosage.extension[injectionDepth].url = "https://meso-fhir.org/fhir/StructureDefinition/injection-depth" (exactly)
* dosage.extension[needle].url = "https://meso-fhir.org/fhir/StructureDefinition/needle" (exactly)
* dosage.site 1..1
* dosage.site from MesoBodySite (extensible)
* dosage.route 1..1
* dosage.route from MesoRoute (required)
* dosage.method 0..1
* dosage.method from MesoTechnique (extensible)
* dosage.dose 1..1
* dosage.dose.value 1..1
* dosage.dose.system 1..1
* dosage.dose.system = $ucum (exactly)
* dosage.dose.code 1..1
* dosage.dose.code = #mL (exactly)

// Invariants restating constraints inside backbone elements: @medplum/core 4.5.2 validates
// backbone elements (dosage, activity.detail, component) against the base resource and so does
// not see a profile's cardinalities, fixed values and bindings there; an invariant on the resource
// is checked by both @medplum/core and pyfhircheck.
Invariant: meso-inj-1
Description: "The dosage has a site, a route and a dose in mL (UCUM)."
Severity: #error
Expression: "dosage.exists() and dosage.site.exists() and dosage.route.exists() and dosage.dose.value.exists() and dosage.dose.system = 'http://unitsofmeasure.org' and dosage.dose.code = 'mL'"

Invariant: meso-inj-2
Description: "An injection depth is a value in mm (UCUM)."
Severity: #error
Expression: "dosage.extension.where(url = 'https://meso-fhir.org/fhir/StructureDefinition/injection-depth').all(value.value.exists() and value.system = 'http://unitsofmeasure.org' and value.code = 'mm')"
