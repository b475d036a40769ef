Profile: MesoProvenance
Parent: Provenance
Id: meso-provenance
Title: "meso-fhir provenance"
Description: "What one sync transaction wrote, per activity (create, update, or nullify for a withdrawn record): meso-fhir (the assembler, a Device named by its URI) on behalf of the clinic (an Organization named by its identifier base, also the author), when, and from which clinic records (entity role source, by the record's identifier). Targets and agents are logical references (by identifier): no Device or Organization resource needs to exist, and a written resource stays deletable where the server keeps referential integrity on delete."
* insert Publication
* target 1..*
* target.identifier 1..1
* target.identifier ^short = "The written resource by its business identifier (a logical reference, so that it stays deletable on servers that keep referential integrity on delete)"
* activity 1..1
* activity from MesoProvenanceActivity (required)
* agent 2..*
* agent.type 1..1
* agent.who.identifier 1..1
* entity 1..*
* entity.role = #source
* entity.what.identifier 1..1
