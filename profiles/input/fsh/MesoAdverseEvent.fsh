Profile: MesoAdverseEvent
Parent: AdverseEvent
Id: meso-adverse-event
Title: "meso-fhir adverse event"
Description: "A reaction after a session that the clinic reported as an adverse event: the event is the reaction's code; every injection of the session is a suspect (the session's Procedure when it had none). R4's AdverseEvent has no status: a withdrawn report is not sent."
* insert Publication
* identifier 1..1
* actuality = #actual
* event 1..1
* event from MesoReaction (extensible)
* subject only Reference(Patient)
* encounter 1..1
* encounter only Reference(Encounter)
* date 1..1
* suspectEntity 1..*
* suspectEntity.instance only Reference(MedicationAdministration or Procedure)
