Profile: MesoScreeningFinding
Parent: Observation
Id: meso-screening-finding
Title: "meso-fhir screening finding"
Description: "One finding of the pre-treatment screening: pregnancy status (LOINC 82810-3, coded answer), Fitzpatrick skin type (LOINC 66555-4, local answer and SNOMED CT phototype), Glogau photo-ageing grade (local question and answer), or the answer to one contraindication question (the local ci-* question as code, never the condition asked about; yes or no coded in LOINC and SNOMED CT; category contraindication and survey)."
* insert Publication
* obeys meso-screen-1 and meso-screen-2 and meso-screen-3 and meso-screen-4
* identifier 1..*
* category 1..*
* code from MesoScreeningFindingCodes (required)
* subject 1..1
* subject only Reference(Patient)
* effective[x] 1..1
* effective[x] only dateTime
* value[x] 1..1
* value[x] only CodeableConcept
* value[x] from MesoScreeningFindingValues (required)

Invariant: meso-screen-1
Description: "The pregnancy status (LOINC 82810-3) is answered with a pregnancy status code (meso-pregnancy-status)."
Severity: #error
Expression: "code.coding.where(system = 'http://loinc.org' and code = '82810-3').exists() implies value.coding.where(system = 'http://snomed.info/sct' and (code = '77386006' or code = '60001007' or code = '152231000119106' or code = '146799005')).exists()"

Invariant: meso-screen-2
Description: "The Fitzpatrick skin type (LOINC 66555-4) is answered with a Fitzpatrick skin type (meso-fitzpatrick-skin-type)."
Severity: #error
Expression: "code.coding.where(system = 'http://loinc.org' and code = '66555-4').exists() implies value.coding.where(system = 'https://meso-fhir.org/fhir/CodeSystem/meso' and code.startsWith('fitzpatrick-')).exists()"

Invariant: meso-screen-3
Description: "The Glogau photo-ageing classification is answered with a Glogau grade (meso-glogau-grade)."
Severity: #error
Expression: "code.coding.where(system = 'https://meso-fhir.org/fhir/CodeSystem/meso' and code = 'glogau-photoageing').exists() implies value.coding.where(system = 'https://meso-fhir.org/fhir/CodeSystem/meso' and code.startsWith('glogau-')).exists()"

Invariant: meso-screen-4
Description: "A contraindication question (local ci-* code) is answered yes or no (LOINC LA33-6 or LA32-8), carries no other code than the question's, and has the category contraindication."
Severity: #error
Expression: "code.coding.where(system = 'https://meso-fhir.org/fhir/CodeSystem/meso' and code.startsWith('ci-')).exists() implies (code.coding.count() = 1 and value.coding.where(system = 'http://loinc.org' and (code = 'LA33-6' or code = 'LA32-8')).exists() and category.coding.where(system = 'https://meso-fhir.org/fhir/CodeSystem/meso' and code = 'contraindication').exists())"
