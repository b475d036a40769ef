Profile: MesoMedicationStatement
Parent: MedicationStatement
Id: meso-medication-statement
Title: "meso-fhir medication statement"
Description: "A medicine reviewed at the screening (aspirin and other NSAIDs, anticoagulants): taken, or stopped before the course (status stopped)."
* insert Publication
* identifier 1..*
* medication[x] only CodeableConcept
* subject only Reference(Patient)
* effective[x] 0..1
* effective[x] only dateTime or Period
* dateAsserted 1..1
