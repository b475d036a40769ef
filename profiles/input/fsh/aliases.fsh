// Code system URIs (the same as in src/meso_fhir/codes.py).
Alias: $sct = http://snomed.info/sct
Alias: $loinc = http://loinc.org
Alias: $ucum = http://unitsofmeasure.org
Alias: $v2-0203 = http://terminology.hl7.org/CodeSystem/v2-0203
Alias: $obs-category = http://terminology.hl7.org/CodeSystem/observation-category
Alias: $v3-route = http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration
Alias: $v3-act = http://terminology.hl7.org/CodeSystem/v3-ActCode
Alias: $organization-type = http://terminology.hl7.org/CodeSystem/organization-type
Alias: $meso = https://meso-fhir.org/fhir/CodeSystem/meso
Alias: $v3-data-operation = http://terminology.hl7.org/CodeSystem/v3-DataOperation
Alias: $provenance-participant = http://terminology.hl7.org/CodeSystem/provenance-participant-type
Alias: $condition-clinical = http://terminology.hl7.org/CodeSystem/condition-clinical
Alias: $condition-ver-status = http://terminology.hl7.org/CodeSystem/condition-ver-status
Alias: $condition-category = http://terminology.hl7.org/CodeSystem/condition-category
Alias: $allergy-clinical = http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical
Alias: $allergy-verification = http://terminology.hl7.org/CodeSystem/allergyintolerance-verification
Alias: $adverse-event-seriousness = http://terminology.hl7.org/CodeSystem/adverse-event-seriousness
Alias: $adverse-event-severity = http://terminology.hl7.org/CodeSystem/adverse-event-severity
Alias: $adverse-event-outcome = http://terminology.hl7.org/CodeSystem/adverse-event-outcome
Alias: $vitalsigns = http://hl7.org/fhir/StructureDefinition/vitalsigns

// A CodeableConcept that must carry one given coding, in any position, beside any others: a
// slice of its codings matched by pattern. (A patternCodeableConcept on the element says the
// same, but pyfhircheck 0.2 compares the coding lists whole and rejects any extra coding.)
RuleSet: RequiredCoding(path, slice, system, code)
* {path}.coding ^slicing.discriminator.type = #pattern
* {path}.coding ^slicing.discriminator.path = "$this"
* {path}.coding ^slicing.rules = #open
* {path}.coding ^slicing.description = "The required coding, told apart by system and code"
* {path}.coding 1..*
* {path}.coding contains {slice} 1..1
* {path}.coding[{slice}] = {system}#{code}

// Publication metadata of every conformance resource (profiles, extensions, value sets, the code
// system): insert it in each. Their status is sushi-config.yaml's `status` (draft), which SUSHI
// applies to every conformance resource that sets no ^status itself. SUSHI does not copy the
// config's publisher or contact into them (in FSHOnly mode it warns that those keys are unused;
// otherwise it puts them on the ImplementationGuide only), so they are set here; make-package.mjs
// checks every conformance resource carries them and uses the publisher as package.json author.
RuleSet: Publication
* ^experimental = false
* ^publisher = "meso-fhir"
* ^contact[0].name = "meso-fhir"
* ^contact[0].telecom[0].system = #url
* ^contact[0].telecom[0].value = "https://meso-fhir.org"
Alias: $consentscope = http://terminology.hl7.org/CodeSystem/consentscope
Alias: $consentaction = http://terminology.hl7.org/CodeSystem/consentaction
Alias: $media-type = http://terminology.hl7.org/CodeSystem/media-type
Alias: $dcm = http://dicom.nema.org/resources/ontology/DCM
Alias: $bcp13 = urn:ietf:bcp:13
