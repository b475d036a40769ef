// One example per profile (and a few more), shaped as the mapper emits them. build.sh validates
// each against its meta.profile (check-examples.mjs). Identifier systems are placeholders of a
// clinic's configurable base URI.
// Each narrative (text.div) is what src/meso_fhir/mapping/narrative.py makes of the instance
// (tests/test_narrative.py holds them together).

Alias: $mrn = https://hospital.example.org/fhir/sid/mrn
Alias: $clinic-id = https://clinic.example.org/fhir/sid

Instance: example-patient
InstanceOf: MesoPatient
Usage: #example
Title: "Patient"
* text.status = #generated
* text.div = "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Patient: Claire Martin</p><p>female, born 1981-04-12</p><p>Identifier: MRN-000123</p></div>"
* identifier[mrn].use = #usual
* identifier[mrn].type = $v2-0203#MR "Medical record number"
* identifier[mrn].system = $mrn
* identifier[mrn].value = "MRN-000123"
* active = true
* name.use = #official
* name.family = "Martin"
* name.given = "Claire"
* gender = #female
* birthDate = "1981-04-12"

Instance: example-blood-pressure
InstanceOf: MesoVitalSigns
Usage: #example
Title: "Vital signs: blood pressure"
* text.status = #generated
* text.div = "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Blood pressure panel with all children optional: Systolic blood pressure 118 mm[Hg]; Diastolic blood pressure 76 mm[Hg]</p><p>When: 2024-03-01T09:30:00+01:00</p><p>Status: final</p></div>"
* meta.profile[+] = "http://hl7.org/fhir/StructureDefinition/bp"
* identifier.system = "https://clinic.example.org/fhir/sid/screening-observation"
* identifier.value = "SCR-42-bp"
* status = #final
* category[VSCat] = $obs-category#vital-signs "Vital Signs"
* code = $loinc#85354-9 "Blood pressure panel with all children optional"
* subject = Reference(Patient/example-patient)
* effectiveDateTime = "2024-03-01T09:30:00+01:00"
* component[0].code = $loinc#8480-6 "Systolic blood pressure"
* component[0].valueQuantity = 118 'mm[Hg]' "mm[Hg]"
* component[1].code = $loinc#8462-4 "Diastolic blood pressure"
* component[1].valueQuantity = 76 'mm[Hg]' "mm[Hg]"

Instance: example-heart-rate
InstanceOf: MesoVitalSigns
Usage: #example
Title: "Vital signs: heart rate"
* text.status = #generated
* text.div = "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Heart rate: 64 /min</p><p>When: 2024-03-01T09:30:00+01:00</p><p>Status: final</p></div>"
* meta.profile[+] = "http://hl7.org/fhir/StructureDefinition/heartrate"
* identifier.system = "https://clinic.example.org/fhir/sid/screening-observation"
* identifier.value = "SCR-42-hr"
* status = #final
* category[VSCat] = $obs-category#vital-signs "Vital Signs"
* code = $loinc#8867-4 "Heart rate"
* subject = Reference(Patient/example-patient)
* effectiveDateTime = "2024-03-01T09:30:00+01:00"
* valueQuantity = 64 '/min' "/min"

Instance: example-pregnancy-status
InstanceOf: MesoScreeningFinding
Usage: #example
Title: "Screening: pregnancy status"
* text.status = #generated
* text.div = "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Pregnancy status: Not pregnant</p><p>When: 2024-03-01T09:30:00+01:00</p><p>Status: final</p></div>"
* identifier.system = "https://clinic.example.org/fhir/sid/screening-observation"
* identifier.value = "SCR-42-pregnancy-status"
* status = #final
* category = $obs-category#social-history "Social History"
* code = $loinc#82810-3 "Pregnancy status"
* subject = Reference(Patient/example-patient)
* effectiveDateTime = "2024-03-01T09:30:00+01:00"
* valueCodeableConcept = $sct#60001007 "Not pregnant"

Instance: example-fitzpatrick
InstanceOf: MesoScreeningFinding
Usage: #example
Title: "Screening: Fitzpatrick skin type"
* text.status = #generated
* text.div = "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Skin type [Fitzpatrick Classification Scale]: Fitzpatrick skin type III</p><p>When: 2024-03-01T09:30:00+01:00</p><p>Status: final</p></div>"
* identifier.system = "https://clinic.example.org/fhir/sid/screening-observation"
* identifier.value = "SCR-42-fitzpatrick"
* status = #final
* category = $obs-category#exam "Exam"
* code = $loinc#66555-4 "Skin type [Fitzpatrick Classification Scale]"
* subject = Reference(Patient/example-patient)
* effectiveDateTime = "2024-03-01T09:30:00+01:00"
* valueCodeableConcept.coding[0] = $meso#fitzpatrick-III "Fitzpatrick skin type III"
* valueCodeableConcept.coding[1] = $sct#403226000 "Skin phototype III (initially sometimes burn, then usually tan)"

Instance: example-glogau
InstanceOf: MesoScreeningFinding
Usage: #example
Title: "Screening: Glogau photo-ageing grade"
* text.status = #generated
* text.div = "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Glogau photo-ageing classification: Glogau photo-ageing type II</p><p>When: 2024-03-01T09:30:00+01:00</p><p>Status: final</p></div>"
* identifier.system = "https://clinic.example.org/fhir/sid/screening-observation"
* identifier.value = "SCR-42-glogau"
* status = #final
* category = $obs-category#exam "Exam"
* code = $meso#glogau-photoageing "Glogau photo-ageing classification"
* subject = Reference(Patient/example-patient)
* effectiveDateTime = "2024-03-01T09:30:00+01:00"
* valueCodeableConcept = $meso#glogau-II "Glogau photo-ageing type II"

Instance: example-contraindication-diabetes
InstanceOf: MesoScreeningFinding
Usage: #example
Title: "Screening: contraindication answer (diabetes)"
* text.status = #generated
* text.div = "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Diabetes: Yes</p><p>When: 2024-03-01T09:30:00+01:00</p><p>Status: final</p></div>"
* identifier.system = "https://clinic.example.org/fhir/sid/screening-observation"
* identifier.value = "SCR-42-ci-diabetes"
* status = #final
* category[0] = $obs-category#survey "Survey"
* category[1] = $meso#contraindication "Contraindication screening answer"
* code = $meso#ci-diabetes "Diabetes"
* subject = Reference(Patient/example-patient)
* effectiveDateTime = "2024-03-01T09:30:00+01:00"
* valueCodeableConcept.coding[0] = $loinc#LA33-6 "Yes"
* valueCodeableConcept.coding[1] = $sct#373066001 "Yes"

Instance: example-screening-visit
InstanceOf: MesoEncounter
Usage: #example
Title: "Screening visit"
* text.status = #generated
* text.div = "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Pre-treatment screening visit</p><p>Start: 2024-03-01T09:30:00+01:00</p><p>At: Clinique du Parc</p><p>Status: finished</p></div>"
* identifier.system = "https://clinic.example.org/fhir/sid/encounter"
* identifier.value = "screening/SCR-42"
* status = #finished
* class = $v3-act#AMB "ambulatory"
* type = $meso#visit-screening "Pre-treatment screening visit"
* subject = Reference(Patient/example-patient)
* period.start = "2024-03-01T09:30:00+01:00"
* serviceProvider = Reference(Organization/example-clinic) "Clinique du Parc"

Instance: example-reported-condition
InstanceOf: MesoCondition
Usage: #example
Title: "Condition reported at screening (a yes to the diabetes question)"
* text.status = #generated
* text.div = "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Condition: Diabetes mellitus</p><p>Category: Problem List Item</p><p>Recorded: 2024-03-01T09:30:00+01:00</p><p>Status: Active, Unconfirmed</p></div>"
* identifier.system = "https://clinic.example.org/fhir/sid/screening"
* identifier.value = "SCR-42/condition-diabetes"
* clinicalStatus = $condition-clinical#active "Active"
* verificationStatus = $condition-ver-status#unconfirmed "Unconfirmed"
* category = $condition-category#problem-list-item "Problem List Item"
* code = $sct#73211009 "Diabetes mellitus"
* subject = Reference(Patient/example-patient)
* encounter = Reference(Encounter/example-screening-visit)
* recordedDate = "2024-03-01T09:30:00+01:00"
* asserter = Reference(Patient/example-patient)
* evidence.detail = Reference(Observation/example-contraindication-diabetes)

Instance: example-aspirin
InstanceOf: MesoMedicationStatement
Usage: #example
Title: "Screening: aspirin stopped"
* text.status = #generated
* text.div = "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Medication: aspirin</p><p>Status: stopped</p></div>"
* identifier.system = "https://clinic.example.org/fhir/sid/screening-medication"
* identifier.value = "SCR-42-aspirin"
* status = #stopped
* medicationCodeableConcept.coding[0] = http://www.nlm.nih.gov/research/umls/rxnorm#1191 "aspirin"
* medicationCodeableConcept.coding[1] = http://www.whocc.no/atc#B01AC06 "acetylsalicylic acid"
* subject = Reference(Patient/example-patient)
* effectivePeriod.end = "2024-02-10"
* dateAsserted = "2024-03-01T09:30:00+01:00"

Instance: example-eligibility
InstanceOf: MesoEligibility
Usage: #example
Title: "Screening: eligibility decision"
* text.status = #generated
* text.div = "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Mesotherapy eligibility decision: Eligible</p><p>When: 2024-03-01T09:30:00+01:00</p><p>Status: final</p></div>"
* identifier.system = "https://clinic.example.org/fhir/sid/screening-observation"
* identifier.value = "SCR-42-eligibility"
* status = #final
* category = $obs-category#survey "Survey"
* code = $meso#eligibility "Mesotherapy eligibility decision"
* subject = Reference(Patient/example-patient)
* effectiveDateTime = "2024-03-01T09:30:00+01:00"
* valueCodeableConcept = $meso#eligible "Eligible"
* derivedFrom[0] = Reference(Observation/example-pregnancy-status)
* derivedFrom[1] = Reference(Observation/example-contraindication-diabetes)
* extension[supportingInfo].valueReference = Reference(MedicationStatement/example-aspirin)

Instance: example-course
InstanceOf: MesoCourse
Usage: #example
Title: "Course"
* text.status = #generated
* text.div = "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Skin rejuvenation, face and neck</p><p>From: 2024-03-08</p><p>Status: active</p></div>"
* identifier.system = "https://clinic.example.org/fhir/sid/course"
* identifier.value = "C-7"
* extension[treatmentArea][0].valueCodeableConcept = $sct#89545001 "Face"
* extension[treatmentArea][1].valueCodeableConcept = $sct#45048000 "Neck"
* status = #active
* intent = #plan
* title = "Skin rejuvenation, face and neck"
* subject = Reference(Patient/example-patient)
* period.start = "2024-03-08"
* supportingInfo = Reference(Observation/example-eligibility)
* activity.detail.kind = #ServiceRequest
* activity.detail.code.coding[mesotherapy] = $meso#mesotherapy "Mesotherapy session"
* activity.detail.code.coding[generic] = $sct#432102000 "Administration of substance"
* activity.detail.reasonCode = $meso#indication-skin-rejuvenation "Skin rejuvenation"
* activity.detail.status = #in-progress
* activity.detail.scheduledTiming.repeat.count = 4
* activity.detail.scheduledTiming.repeat.period = 2
* activity.detail.scheduledTiming.repeat.periodUnit = #wk

Instance: example-session-visit
InstanceOf: MesoEncounter
Usage: #example
Title: "Session visit"
* text.status = #generated
* text.div = "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Mesotherapy session visit</p><p>Start: 2024-03-08T14:00:00+01:00</p><p>With: Dr A. Dupont</p><p>At: Clinique du Parc</p><p>Status: finished</p></div>"
* identifier.system = "https://clinic.example.org/fhir/sid/encounter"
* identifier.value = "session/S-7-1"
* status = #finished
* class = $v3-act#AMB "ambulatory"
* type = $meso#visit-session "Mesotherapy session visit"
* subject = Reference(Patient/example-patient)
* participant.individual = Reference(Practitioner/example-practitioner) "Dr A. Dupont"
* period.start = "2024-03-08T14:00:00+01:00"
* serviceProvider = Reference(Organization/example-clinic) "Clinique du Parc"

Instance: example-session
InstanceOf: MesoSession
Usage: #example
Title: "Session"
* text.status = #generated
* text.div = "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Mesotherapy session</p><p>Sites: Face, Neck</p><p>Performed: 2024-03-08T14:00:00+01:00</p><p>Complications: Injection site bruising</p><p>Status: completed</p></div>"
* identifier.system = "https://clinic.example.org/fhir/sid/session"
* identifier.value = "S-7-1"
* extension[sessionNumber].valuePositiveInt = 1
* basedOn = Reference(CarePlan/example-course)
* status = #completed
* code.coding[mesotherapy] = $meso#mesotherapy "Mesotherapy session"
* code.coding[generic] = $sct#432102000 "Administration of substance"
* subject = Reference(Patient/example-patient)
* encounter = Reference(Encounter/example-session-visit)
* performedDateTime = "2024-03-08T14:00:00+01:00"
* performer.actor = Reference(Practitioner/example-practitioner) "Dr A. Dupont"
* performer.onBehalfOf = Reference(Organization/example-clinic) "Clinique du Parc"
* bodySite[0] = $sct#89545001 "Face"
* bodySite[1] = $sct#45048000 "Neck"
* reasonCode = $meso#indication-skin-rejuvenation "Skin rejuvenation"
* complication = $sct#95401009 "Injection site bruising"
* complicationDetail = Reference(Condition/example-complication)

Instance: example-complication
InstanceOf: MesoCondition
Usage: #example
Title: "Complication seen at a session"
* text.status = #generated
* text.div = "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Condition: Injection site bruising</p><p>Category: Encounter Diagnosis</p><p>Since: 2024-03-08T14:00:00+01:00</p><p>Status: Confirmed</p></div>"
* identifier.system = "https://clinic.example.org/fhir/sid/session"
* identifier.value = "S-7-1/complication-bruising"
* verificationStatus = $condition-ver-status#confirmed "Confirmed"
* category = $condition-category#encounter-diagnosis "Encounter Diagnosis"
* code = $sct#95401009 "Injection site bruising"
* subject = Reference(Patient/example-patient)
* encounter = Reference(Encounter/example-session-visit)
* onsetDateTime = "2024-03-08T14:00:00+01:00"
* recordedDate = "2024-03-08T14:00:00+01:00"

Instance: product
InstanceOf: Medication
Usage: #inline
* code.coding = https://clinic.example.org/fhir/CodeSystem/product#HA-VITC "Hyaluronic acid and vitamin C cocktail"
* code.text = "Hyaluronic acid and vitamin C cocktail"
* ingredient[0].itemCodeableConcept.coding[0] = http://fdasis.nlm.nih.gov#S270N0TRQY "HYALURONIC ACID"
* ingredient[0].itemCodeableConcept.coding[1] = http://www.whocc.no/atc#D03AX05 "hyaluronic acid"
* ingredient[1].itemCodeableConcept.coding[0] = $sct#43706004 "Ascorbic acid"
* ingredient[1].itemCodeableConcept.coding[1] = http://fdasis.nlm.nih.gov#PQ6CK8PD0R "ASCORBIC ACID"
* ingredient[0].strength.numerator = 10 'mg' "mg"
* ingredient[0].strength.denominator = 1 'mL' "mL"
* ingredient[1].strength.numerator = 20 'mg' "mg"
* ingredient[1].strength.denominator = 1 'mL' "mL"
* batch.lotNumber = "LOT-2024-0117"
* batch.expirationDate = "2025-06-30"

Instance: example-injection-site
InstanceOf: MesoInjectionSite
Usage: #example
Title: "Injection site with its side"
* text.status = #generated
* text.div = "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Site: Skin of cheek</p><p>Side: Left</p></div>"
* identifier.system = "https://clinic.example.org/fhir/sid/injection"
* identifier.value = "S-7-1-I1/site"
* active = true
* location = $sct#36141000 "Skin of cheek"
* locationQualifier = $sct#7771000 "Left"
* patient = Reference(Patient/example-patient)

Instance: example-injection
InstanceOf: MesoInjection
Usage: #example
Title: "Injection"
* text.status = #generated
* text.div = "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Administered: Hyaluronic acid and vitamin C cocktail</p><p>Dose: 2 mL</p><p>Route: Intracutaneous route</p><p>Site: left skin of cheek</p><p>When: 2024-03-08T14:05:00+01:00</p><p>Status: completed</p></div>"
* identifier.system = "https://clinic.example.org/fhir/sid/injection"
* identifier.value = "S-7-1-1"
* contained[0] = product
* status = #completed
* medicationReference.reference = "#product"
* subject = Reference(Patient/example-patient)
* partOf = Reference(Procedure/example-session)
* effectiveDateTime = "2024-03-08T14:05:00+01:00"
* performer.actor = Reference(Practitioner/example-practitioner) "Dr A. Dupont"
* dosage.extension[injectionDepth].valueQuantity = 1.5 'mm' "mm"
* dosage.extension[needle].valueString = "32G 4 mm"
* dosage.site = $sct#36141000 "Skin of cheek"
* dosage.site.text = "left skin of cheek"
* dosage.site.extension[0].url = "http://hl7.org/fhir/StructureDefinition/bodySite"
* dosage.site.extension[0].valueReference = Reference(BodyStructure/example-injection-site)
* dosage.route.coding[0] = $sct#372464004 "Intracutaneous route"
* dosage.route.coding[1] = $v3-route#IDINJ "Injection, intradermal"
* dosage.method = $meso#technique-nappage "Nappage"
* dosage.dose = 2 'mL' "mL"

Instance: example-pain
InstanceOf: MesoSessionObservation
Usage: #example
Title: "Session observation: pain score"
* text.status = #generated
* text.div = "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Pain severity - 0-10 verbal numeric rating [Score] - Reported: 3</p><p>When: 2024-03-08T14:30:00+01:00</p><p>Status: final</p></div>"
* identifier.system = "https://clinic.example.org/fhir/sid/session-observation"
* identifier.value = "S-7-1-pain"
* status = #final
* category = $obs-category#survey "Survey"
* code = $loinc#72514-3 "Pain severity - 0-10 verbal numeric rating [Score] - Reported"
* subject = Reference(Patient/example-patient)
* partOf = Reference(Procedure/example-session)
* effectiveDateTime = "2024-03-08T14:30:00+01:00"
* valueInteger = 3

Instance: example-waist
InstanceOf: MesoSessionObservation
Usage: #example
Title: "Session observation: waist circumference"
* text.status = #generated
* text.div = "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Waist Circumference at umbilicus by Tape measure: 82.5 cm</p><p>When: 2024-03-08T13:50:00+01:00</p><p>Status: final</p></div>"
* identifier.system = "https://clinic.example.org/fhir/sid/session-observation"
* identifier.value = "S-7-1-waist"
* status = #final
* category = $obs-category#exam "Exam"
* code = $loinc#8280-0 "Waist Circumference at umbilicus by Tape measure"
* subject = Reference(Patient/example-patient)
* partOf = Reference(Procedure/example-session)
* effectiveDateTime = "2024-03-08T13:50:00+01:00"
* valueQuantity = 82.5 'cm' "cm"

Instance: example-reaction
InstanceOf: MesoSessionObservation
Usage: #example
Title: "Session observation: injection site reaction reported as an adverse event"
* text.status = #generated
* text.div = "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Injection site disorder: Injection site bruising</p><p>Site: left skin of cheek</p><p>When: 2024-03-08T14:40:00+01:00</p><p>Status: final</p></div>"
* identifier.system = "https://clinic.example.org/fhir/sid/session-observation"
* identifier.value = "S-7-1-reaction-1"
* status = #final
* category[0] = $obs-category#exam "Exam"
* category[1] = $meso#adverse-event "Reported as an adverse event"
* code = $sct#95376002 "Injection site disorder"
* subject = Reference(Patient/example-patient)
* partOf = Reference(Procedure/example-session)
* effectiveDateTime = "2024-03-08T14:40:00+01:00"
* valueCodeableConcept = $sct#95401009 "Injection site bruising"
* bodySite = $sct#36141000 "Skin of cheek"
* bodySite.text = "left skin of cheek"
* encounter = Reference(Encounter/example-session-visit)

Instance: example-adverse-event
InstanceOf: MesoAdverseEvent
Usage: #example
Title: "The reaction reported as an adverse event"
* text.status = #generated
* text.div = "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Adverse event: Injection site bruising</p><p>When: 2024-03-08T14:40:00+01:00</p><p>Seriousness: Non-serious</p><p>Severity: Mild</p><p>Outcome: Resolved</p></div>"
* identifier.system = "https://clinic.example.org/fhir/sid/observation"
* identifier.value = "S-7-1-reaction-1/adverse-event"
* actuality = #actual
* event = $sct#95401009 "Injection site bruising"
* subject = Reference(Patient/example-patient)
* encounter = Reference(Encounter/example-session-visit)
* date = "2024-03-08T14:40:00+01:00"
* seriousness = $adverse-event-seriousness#Non-serious "Non-serious"
* severity = $adverse-event-severity#mild "Mild"
* outcome = $adverse-event-outcome#resolved "Resolved"
* suspectEntity.instance = Reference(MedicationAdministration/example-injection)

Instance: example-reaction-allergy
InstanceOf: MesoAllergy
Usage: #example
Title: "Suspected allergy to the product given, after a hypersensitivity reaction"
* text.status = #generated
* text.div = "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Allergy or intolerance: Hyaluronic acid and vitamin C cocktail</p><p>Reaction: Injection site hypersensitivity</p><p>Recorded: 2024-03-08T14:40:00+01:00</p><p>Status: Active, Unconfirmed</p></div>"
* identifier.system = "https://clinic.example.org/fhir/sid/observation"
* identifier.value = "S-7-1-reaction-2/allergy-HA-VITC"
* clinicalStatus = $allergy-clinical#active "Active"
* verificationStatus = $allergy-verification#unconfirmed "Unconfirmed"
* type = #allergy
* category = #medication
* code.coding = https://clinic.example.org/fhir/CodeSystem/product#HA-VITC "Hyaluronic acid and vitamin C cocktail"
* code.text = "Hyaluronic acid and vitamin C cocktail"
* patient = Reference(Patient/example-patient)
* encounter = Reference(Encounter/example-session-visit)
* onsetDateTime = "2024-03-08T14:40:00+01:00"
* recordedDate = "2024-03-08T14:40:00+01:00"
* reaction.manifestation = $sct#95378001 "Injection site hypersensitivity"
* reaction.onset = "2024-03-08T14:40:00+01:00"
* reaction.severity = #mild

Instance: example-provenance
InstanceOf: MesoProvenance
Usage: #example
Title: "Provenance of one sync transaction's writes"
* text.status = #generated
* text.div = "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Provenance: create by meso-fhir 0.1.0</p><p>Recorded: 2024-03-08T18:00:00+00:00</p><p>2 resource(s) from 1 clinic record(s)</p></div>"
* target[0].type = "Procedure"
* target[0].identifier.system = "https://clinic.example.org/fhir/sid/session"
* target[0].identifier.value = "S-7-1"
* target[1].type = "MedicationAdministration"
* target[1].identifier.system = "https://clinic.example.org/fhir/sid/injection"
* target[1].identifier.value = "S-7-1-I1"
* recorded = "2024-03-08T18:00:00+00:00"
* activity = $v3-data-operation#CREATE "create"
* agent[0].type = $provenance-participant#assembler "Assembler"
* agent[0].who.type = "Device"
* agent[0].who.identifier.system = "urn:ietf:rfc:3986"
* agent[0].who.identifier.value = "https://meso-fhir.org/fhir"
* agent[0].who.display = "meso-fhir 0.1.0"
* agent[0].onBehalfOf.type = "Organization"
* agent[0].onBehalfOf.identifier.system = "urn:ietf:rfc:3986"
* agent[0].onBehalfOf.identifier.value = "https://clinic.example.org/fhir/sid"
* agent[1].type = $provenance-participant#author "Author"
* agent[1].who.type = "Organization"
* agent[1].who.identifier.system = "urn:ietf:rfc:3986"
* agent[1].who.identifier.value = "https://clinic.example.org/fhir/sid"
* entity[0].role = #source
* entity[0].what.identifier.system = "https://clinic.example.org/fhir/sid/session"
* entity[0].what.identifier.value = "S-7-1"
* entity[0].what.display = "clinic session record"

Instance: example-clinic
InstanceOf: MesoClinic
Usage: #example
Title: "The clinic"
* text.status = #generated
* text.div = "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Clinique du Parc</p><p>Healthcare Provider</p></div>"
* identifier.system = "urn:ietf:rfc:3986"
* identifier.value = "https://clinic.example.org/fhir/sid"
* active = true
* type = $organization-type#prov "Healthcare Provider"
* name = "Clinique du Parc"

Instance: example-practitioner
InstanceOf: MesoPractitioner
Usage: #example
Title: "A practitioner of the clinic"
* text.status = #generated
* text.div = "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Dr A. Dupont</p><p>MD, aesthetic medicine</p></div>"
* identifier.system = "https://clinic.example.org/fhir/sid/practitioner"
* identifier.value = "DR-3"
* active = true
* name.text = "Dr A. Dupont"
* qualification.code.text = "MD, aesthetic medicine"
Instance: example-consent
InstanceOf: MesoConsent
Usage: #example
Title: "Informed consent to the course"
* text.status = #generated
* text.div = "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Consent: Treatment</p><p>Given: 2024-03-01</p><p>Form: https://clinic.example.org/forms/mesotherapy-consent-v3</p><p>Status: active</p></div>"
* identifier.system = "https://clinic.example.org/fhir/sid/course"
* identifier.value = "C-7/consent-treatment"
* status = #active
* scope = $consentscope#treatment "Treatment"
* category = $loinc#59284-0 "Patient Consent"
* patient = Reference(Patient/example-patient)
* dateTime = "2024-03-01"
* performer = Reference(Patient/example-patient)
* organization = Reference(Organization/example-clinic) "Clinique du Parc"
* policy.uri = "https://clinic.example.org/forms/mesotherapy-consent-v3"
* provision.type = #permit

Instance: example-photo-consent
InstanceOf: MesoConsent
Usage: #example
Title: "Consent to clinical photographs, not to their disclosure"
* text.status = #generated
* text.div = "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Consent: Privacy Consent</p><p>Given: 2024-03-01</p><p>Permits: Collect, Use</p><p>Denies: Disclose</p><p>Form: https://clinic.example.org/forms/photography-consent-v2</p><p>Status: active</p></div>"
* identifier.system = "https://clinic.example.org/fhir/sid/course"
* identifier.value = "C-7/consent-photography"
* status = #active
* scope = $consentscope#patient-privacy "Privacy Consent"
* category = $loinc#59284-0 "Patient Consent"
* patient = Reference(Patient/example-patient)
* dateTime = "2024-03-01"
* performer = Reference(Patient/example-patient)
* organization = Reference(Organization/example-clinic) "Clinique du Parc"
* policy.uri = "https://clinic.example.org/forms/photography-consent-v2"
* provision.type = #permit
* provision.action[0] = $consentaction#collect "Collect"
* provision.action[1] = $consentaction#use "Use"
* provision.provision.type = #deny
* provision.provision.action = $consentaction#disclose "Disclose"

Instance: example-photo-content
InstanceOf: MesoPhotoContent
Usage: #example
Title: "The bytes of a clinical photograph (a 1x1 PNG)"
* contentType = #image/png
* securityContext = Reference(Patient/example-patient)
* data = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4v2sXAAWoAp9Rj0WqAAAAAElFTkSuQmCC"

Instance: example-photo
InstanceOf: MesoMedia
Usage: #example
Title: "A frontal photograph of the face before the session"
* text.status = #generated
* text.div = "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>Photograph: frontal</p><p>Site: Face</p><p>Taken: 2024-03-08T13:55:00+01:00</p><p>image/png, 69 bytes</p><p>Status: completed</p></div>"
* identifier.system = "https://clinic.example.org/fhir/sid/session"
* identifier.value = "S-7-1/photo-frontal"
* partOf = Reference(Procedure/example-session)
* status = #completed
* type = $media-type#image "Image"
* modality = $dcm#XC "External-camera Photography"
* view = $sct#399033003 "frontal"
* subject = Reference(Patient/example-patient)
* encounter = Reference(Encounter/example-session-visit)
* createdDateTime = "2024-03-08T13:55:00+01:00"
* bodySite = $sct#89545001 "Face"
* content.contentType = #image/png
* content.url = "Binary/example-photo-content"
* content.size = 69
* content.hash = "U25zQvgf6RjyXX7dcr7EwaZbqB0="
