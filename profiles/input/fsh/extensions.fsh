// Extensions (URLs: EXT_* in src/meso_fhir/codes.py).

Extension: SessionNumber
Id: session-number
Title: "Session number"
Description: "The ordinal number of a mesotherapy session within its course (1 for the first session)."
Context: Procedure
* insert Publication
* value[x] 1..1
* value[x] only positiveInt

Extension: TreatmentArea
Id: treatment-area
Title: "Treatment area"
Description: "A body area treated in a course of mesotherapy."
Context: CarePlan
* insert Publication
* value[x] 1..1
* value[x] only CodeableConcept
* value[x] from MesoBodySite (extensible)

Extension: InjectionDepth
Id: injection-depth
Title: "Injection depth"
Description: "How deep the needle was inserted, in millimetres."
Context: MedicationAdministration.dosage
* insert Publication
* value[x] 1..1
* value[x] only Quantity
* valueQuantity.value 1..1
* valueQuantity.system 1..1
* valueQuantity.system = $ucum (exactly)
* valueQuantity.code 1..1
* valueQuantity.code = #mm (exactly)

Extension: Needle
Id: needle
Title: "Needle"
Description: "The needle used for the injection, as free text (gauge and length, e.g. \"30G 4 mm\")."
Context: MedicationAdministration.dosage
* insert Publication
* value[x] 1..1
* value[x] only string
