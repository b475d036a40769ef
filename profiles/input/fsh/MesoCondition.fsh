Profile: MesoCondition
Parent: Condition
Id: meso-condition
Title: "meso-fhir condition"
Description: "A disorder the patient reported at screening (a yes to a contraindication question: problem-list-item, unconfirmed, asserted by the patient, resting on the answer as evidence), or a complication seen at a session (encounter-diagnosis, confirmed, what the session's Procedure.complicationDetail refers to)."
* insert Publication
* identifier 1..*
* verificationStatus 1..1
* category 1..1
* code 1..1
* code from MesoConditionCodes (extensible)
* subject only Reference(Patient)
* encounter 1..1
* encounter only Reference(Encounter)
* recordedDate 1..1
* asserter only Reference(Patient)
* evidence.detail only Reference(Observation)
