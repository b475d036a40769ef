Profile: MesoPatient
Parent: Patient
Id: meso-patient
Title: "meso-fhir Patient"
Description: "A patient of the mesotherapy clinic, identified by the hospital EHR's medical record number (MRN)."
* insert Publication
* identifier 1..*
* identifier.system 1..1
* identifier.value 1..1
* identifier ^slicing.discriminator.type = #pattern
* identifier ^slicing.discriminator.path = "type"
* identifier ^slicing.rules = #open
* identifier ^slicing.description = "The MRN is told apart by its type (v2-0203 MR)."
* identifier contains mrn 0..1
* identifier[mrn] ^short = "Medical record number of the EHR"
* identifier[mrn].type 1..1
* identifier[mrn].type = $v2-0203#MR
* name 1..*
* gender 1..1
* birthDate 1..1
