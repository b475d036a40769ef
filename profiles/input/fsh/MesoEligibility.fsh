Profile: MesoEligibility
Parent: Observation
Id: meso-eligibility
Title: "meso-fhir eligibility decision"
Description: "The decision at the end of the pre-treatment screening: eligible, deferred or contraindicated. derivedFrom points at the findings the decision rests on (not hasMember: the decision is not a panel), and the extension workflow-supportingInfo at the medication statements reviewed (R4 derivedFrom cannot reference a MedicationStatement)."
* insert Publication
* identifier 1..*
* category 1..*
* insert RequiredCoding(code, eligibility, $meso, eligibility)
* subject 1..1
* subject only Reference(Patient)
* effective[x] 1..1
* effective[x] only dateTime
* value[x] 1..1
* value[x] only CodeableConcept
* value[x] from MesoEligibilityDecision (required)
* hasMember 0..0
* derivedFrom only Reference(Observation)
// R4 Observation.derivedFrom cannot point at a MedicationStatement: the medication statements
// the decision rests on go in the core extension workflow-supportingInfo.
* extension contains http://hl7.org/fhir/StructureDefinition/workflow-supportingInfo named supportingInfo 0..*
* extension[supportingInfo].url = "http://hl7.org/fhir/StructureDefinition/workflow-supportingInfo" (exactly)
* extension[supportingInfo].value[x] only Reference(MedicationStatement or Observation)
* extension[supportingInfo] ^short = "Medication statements (and other findings) the decision rests on"
