Profile: MesoVitalSigns
Parent: $vitalsigns
Id: meso-vital-signs
Title: "meso-fhir vital signs"
Description: "A vital sign measured at a mesotherapy screening, shaped as the base FHIR vital signs profile: LOINC code, UCUM units. The blood pressure panel (85354-9) carries its systolic and diastolic components and no value of its own."
* insert Publication
* obeys meso-vs-1 and meso-vs-2
* identifier 1..*
* code from MesoVitalSignCodes (required)
* subject only Reference(Patient)
* effective[x] only dateTime
* value[x] only Quantity
* valueQuantity.system 1..1
* valueQuantity.system = $ucum (exactly)
* component.code from MesoBloodPressureComponents (required)
* component.value[x] only Quantity
* component.valueQuantity.system 1..1
* component.valueQuantity.system = $ucum (exactly)
* component.valueQuantity.code = #mm[Hg] (exactly)

Invariant: meso-vs-1
Description: "A blood pressure panel has components and no value of its own; another vital sign has no components."
Severity: #error
Expression: "iif(code.coding.where(system = 'http://loinc.org' and code = '85354-9').exists(), value.empty() and component.exists(), component.empty())"

// Invariants restating constraints inside backbone elements: @medplum/core 4.5.2 validates
// backbone elements (dosage, activity.detail, component) against the base resource and so does
// not see a profile's cardinalities, fixed values and bindings there; an invariant on the resource
// is checked by both @medplum/core and pyfhircheck.
Invariant: meso-vs-2
Description: "A component is the systolic (8480-6) or diastolic (8462-4) blood pressure, in mm[Hg] (UCUM)."
Severity: #error
Expression: "component.all(code.coding.where(system = 'http://loinc.org' and (code = '8480-6' or code = '8462-4')).exists() and (valueQuantity.exists() implies (valueQuantity.system = 'http://unitsofmeasure.org' and valueQuantity.code = 'mm[Hg]')))"
