Profile: MesoSessionObservation
Parent: Observation
Id: meso-session-observation
Title: "meso-fhir session observation"
Description: "What was observed at or after a session: pain score, injection site reaction, measurement or outcome scale; partOf the session's Procedure."
* insert Publication
* obeys meso-obs-1 and meso-obs-2
* identifier 1..*
* category 1..*
* code from MesoSessionObservationCodes (extensible)
* subject 1..1
* subject only Reference(Patient)
* partOf 1..*
* partOf only Reference(Procedure)
* effective[x] 1..1
* effective[x] only dateTime
* value[x] only Quantity or integer or CodeableConcept or boolean or string
* valueQuantity.system 1..1
* valueQuantity.system = $ucum (exactly)

Invariant: meso-obs-1
Description: "A session observation has a value or says why it has none (dataAbsentReason)."
Severity: #error
Expression: "value.exists() or dataAbsentReason.exists()"

// Restates the UCUM rule of the valueQuantity type slice, which @medplum/core 4.5.2 does not match.
// Written without "is Quantity"/ofType() (pyfhircheck evaluates FHIRPath without type information)
// and without "valueQuantity" (@medplum/core resolves it to value[x] of any type): a value with
// a Quantity's unit, code, system or comparator is a Quantity. Not "value.value": in FHIR's
// FHIRPath model a primitive has a value child, so the HL7 validator finds value.value on every
// valueInteger and failed each pain score. A Quantity with a number only is left to the type
// slice's valueQuantity.system 1..1 (the HL7 validator, pyfhircheck and meso-fhir check it;
// @medplum/core, which does not match type slices, lets that one case through).
Invariant: meso-obs-2
Description: "A quantity value is in UCUM units (system and code)."
Severity: #error
Expression: "(value.unit.exists() or value.code.exists() or value.system.exists() or value.comparator.exists()) implies (value.system = 'http://unitsofmeasure.org' and value.code.exists())"
