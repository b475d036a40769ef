Profile: MesoPractitioner
Parent: Practitioner
Id: meso-practitioner
Title: "meso-fhir practitioner"
Description: "A practitioner of the clinic, as the sessions that name them as performer describe them: the clinic's practitioner id as identifier (system <identifier base>/practitioner), the name and the qualification as the clinic records them (text: the export's qualifications are the clinic's words, not codes). A session's Encounter participant, Procedure performer and MedicationAdministration performer refer to it."
* insert Publication
* identifier 1..*
* identifier.system 1..1
* identifier.value 1..1
* active 1..1
* name.text 1..1
* qualification.code.text 1..1
