Profile: MesoEncounter
Parent: Encounter
Id: meso-encounter
Title: "meso-fhir visit"
Description: "The ambulatory visit of a pre-treatment screening or of a mesotherapy session (identifier values 'screening/<id>' and 'session/<id>'): every Observation, MedicationStatement, Procedure and MedicationAdministration of the visit refers to it. The practitioner of a session is its participant, the clinic its serviceProvider. The visit type binding is extensible: an EHR may type the visit with its own codes."
* insert Publication
* identifier 1..*
* class = $v3-act#AMB
* type 1..1
* type from MesoVisitType (extensible)
* subject 1..1
* subject only Reference(Patient)
* participant.individual only Reference(Practitioner)
* period 1..1
* period.start 1..1
* serviceProvider 1..1
* serviceProvider only Reference(Organization)
