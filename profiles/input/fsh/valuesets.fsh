// Value sets of the profiles' bindings. Every concept is listed explicitly (no filters), so an
// offline validator can check membership without SNOMED CT or LOINC loaded.
// Codes and displays are those of src/meso_fhir/codes.py.

ValueSet: MesoVitalSignCodes
Id: meso-vital-sign-codes
Title: "meso-fhir vital signs"
Description: "The vital signs recorded at a mesotherapy screening (LOINC)."
* insert Publication
* $loinc#85354-9 "Blood pressure panel with all children optional"
* $loinc#8867-4 "Heart rate"
* $loinc#8310-5 "Body temperature"
* $loinc#29463-7 "Body weight"
* $loinc#8302-2 "Body height"
* $loinc#39156-5 "Body mass index (BMI) [Ratio]"

ValueSet: MesoBloodPressureComponents
Id: meso-blood-pressure-components
Title: "meso-fhir blood pressure components"
Description: "The components of the blood pressure panel (LOINC)."
* insert Publication
* $loinc#8480-6 "Systolic blood pressure"
* $loinc#8462-4 "Diastolic blood pressure"

ValueSet: MesoScreeningFindingCodes
Id: meso-screening-finding-codes
Title: "meso-fhir screening findings"
Description: "What a screening finding records: pregnancy status, Fitzpatrick skin type, Glogau photo-ageing grade, or one contraindication question (local code: the question, never the code of the condition asked about)."
* insert Publication
* $loinc#82810-3 "Pregnancy status"
* $loinc#66555-4 "Skin type [Fitzpatrick Classification Scale]"
* $meso#glogau-photoageing "Glogau photo-ageing classification"
* $meso#ci-pregnancy "Pregnancy"
* $meso#ci-breastfeeding "Breastfeeding"
* $meso#ci-bleeding-disorder "Bleeding disorder"
* $meso#ci-anticoagulants "Anticoagulant therapy"
* $meso#ci-diabetes "Diabetes"
* $meso#ci-lupus "Lupus"
* $meso#ci-autoimmune-disease "Autoimmune disease"
* $meso#ci-active-skin-infection "Active skin infection"
* $meso#ci-herpes "Herpes (active or recurrent at the site)"
* $meso#ci-keloid "Keloid tendency"
* $meso#ci-component-allergy "Allergy to a component"

ValueSet: MesoPregnancyStatus
Id: meso-pregnancy-status
Title: "meso-fhir pregnancy status answers"
Description: "Answers to the pregnancy status question (LOINC 82810-3)."
* insert Publication
* $sct#77386006 "Pregnant"
* $sct#60001007 "Not pregnant"
* $sct#152231000119106 "Pregnancy not yet confirmed"
* $sct#146799005 "Possible pregnancy"

ValueSet: MesoFitzpatrickSkinType
Id: meso-fitzpatrick-skin-type
Title: "meso-fhir Fitzpatrick skin types"
Description: "Fitzpatrick skin types I to VI (answers to LOINC 66555-4): the local types and the SNOMED CT skin phototype findings."
* insert Publication
* $meso#fitzpatrick-I "Fitzpatrick skin type I"
* $sct#403221005 "Skin phototype I (always burn, never tan) (finding)"
* $meso#fitzpatrick-II "Fitzpatrick skin type II"
* $sct#403222003 "Skin phototype II (initially always burn, then usually tan) (finding)"
* $meso#fitzpatrick-III "Fitzpatrick skin type III"
* $sct#403226000 "Skin phototype III (initially sometimes burn, then usually tan)"
* $meso#fitzpatrick-IV "Fitzpatrick skin type IV"
* $sct#403231003 "Skin phototype IV (rarely burn, then always tan) (finding)"
* $meso#fitzpatrick-V "Fitzpatrick skin type V"
* $sct#403235007 "Skin phototype V (moderately pigmented) (finding)"
* $meso#fitzpatrick-VI "Fitzpatrick skin type VI"
* $sct#403236008 "Skin phototype VI (deeply pigmented) (finding)"

ValueSet: MesoGlogauGrade
Id: meso-glogau-grade
Title: "meso-fhir Glogau photo-ageing grades"
Description: "Glogau photo-ageing types I to IV."
* insert Publication
* $meso#glogau-I "Glogau photo-ageing type I"
* $meso#glogau-II "Glogau photo-ageing type II"
* $meso#glogau-III "Glogau photo-ageing type III"
* $meso#glogau-IV "Glogau photo-ageing type IV"

ValueSet: MesoScreeningFindingValues
Id: meso-screening-finding-values
Title: "meso-fhir coded screening answers"
Description: "Every coded answer of a screening finding: the pregnancy status answers, the Fitzpatrick skin types, the Glogau grades and yes or no (LOINC and SNOMED CT) for a contraindication question."
* insert Publication
// Listed concept by concept (not "include codes from valueset"): offline validators such as
// pyfhircheck 0.2 do not expand a value set that includes another.
* $sct#77386006 "Pregnant"
* $sct#60001007 "Not pregnant"
* $sct#152231000119106 "Pregnancy not yet confirmed"
* $sct#146799005 "Possible pregnancy"
* $meso#fitzpatrick-I "Fitzpatrick skin type I"
* $sct#403221005 "Skin phototype I (always burn, never tan) (finding)"
* $meso#fitzpatrick-II "Fitzpatrick skin type II"
* $sct#403222003 "Skin phototype II (initially always burn, then usually tan) (finding)"
* $meso#fitzpatrick-III "Fitzpatrick skin type III"
* $sct#403226000 "Skin phototype III (initially sometimes burn, then usually tan)"
* $meso#fitzpatrick-IV "Fitzpatrick skin type IV"
* $sct#403231003 "Skin phototype IV (rarely burn, then always tan) (finding)"
* $meso#fitzpatrick-V "Fitzpatrick skin type V"
* $sct#403235007 "Skin phototype V (moderately pigmented) (finding)"
* $meso#fitzpatrick-VI "Fitzpatrick skin type VI"
* $sct#403236008 "Skin phototype VI (deeply pigmented) (finding)"
* $meso#glogau-I "Glogau photo-ageing type I"
* $meso#glogau-II "Glogau photo-ageing type II"
* $meso#glogau-III "Glogau photo-ageing type III"
* $meso#glogau-IV "Glogau photo-ageing type IV"
* $loinc#LA33-6 "Yes"
* $loinc#LA32-8 "No"
* $sct#373066001 "Yes"
* $sct#373067005 "No"

ValueSet: MesoEligibilityDecision
Id: meso-eligibility
Title: "meso-fhir eligibility decisions"
Description: "The outcomes of the pre-treatment screening."
* insert Publication
* $meso#eligible "Eligible"
* $meso#deferred "Deferred"
* $meso#contraindicated "Contraindicated"

ValueSet: MesoIndication
Id: meso-indication
Title: "meso-fhir indications"
Description: "Why a course of mesotherapy is given."
* insert Publication
* $meso#indication-skin-rejuvenation "Skin rejuvenation"
* $meso#indication-fat-reduction "Localised fat reduction"
* $meso#indication-body-recontouring "Body recontouring"
* $meso#indication-pigmentation "Pigmentation disorder"
* $meso#indication-wrinkles "Wrinkles and fine lines"
* $meso#indication-hair-loss "Hair loss"

ValueSet: MesoBodySite
Id: meso-body-site
Title: "meso-fhir body sites"
Description: "Treated body areas and skin regions (SNOMED CT)."
* insert Publication
* $sct#89545001 "Face"
* $sct#68698007 "Skin of forehead"
* $sct#36141000 "Skin of cheek"
* $sct#34926004 "Skin of submental area"
* $sct#45048000 "Neck"
* $sct#74160004 "Skin of chest"
* $sct#41695006 "Scalp"
* $sct#818983003 "Abdomen"
* $sct#68367000 "Thigh"
* $sct#61248009 "Skin of anterior surface of thigh"
* $sct#4578000 "Skin of posterior surface of thigh"
* $sct#73958006 "Skin of medial surface of thigh"
* $sct#46862004 "Buttock"
* $sct#40983000 "Upper arm"
* $sct#72939005 "Skin of posterior surface of upper arm"
* $sct#45981001 "Skin of anterior surface of upper arm"

ValueSet: MesoRoute
Id: meso-route
Title: "meso-fhir routes"
Description: "Routes of a mesotherapy injection: intradermal or subcutaneous (SNOMED CT and the v3 RouteOfAdministration equivalents)."
* insert Publication
* $sct#372464004 "Intracutaneous route"
* $sct#34206005 "Subcutaneous route"
* $v3-route#IDINJ "Injection, intradermal"
* $v3-route#SQ "Injection, subcutaneous"

ValueSet: MesoTechnique
Id: meso-technique
Title: "meso-fhir injection techniques"
Description: "How the product is injected."
* insert Publication
* $meso#technique-nappage "Nappage"
* $meso#technique-point-by-point "Point-by-point"
* $meso#technique-papule "Papule"
* $meso#technique-linear "Linear (retrograde) threading"

ValueSet: MesoReaction
Id: meso-reaction
Title: "meso-fhir reactions and complications"
Description: "Injection site reactions and systemic reactions after a mesotherapy session (SNOMED CT)."
* insert Publication
* $sct#95401009 "Injection site bruising"
* $sct#385494008 "Hematoma"
* $sct#247441003 "Erythema"
* $sct#95392007 "Injection site edema"
* $sct#95395009 "Injection site mass"
* $sct#24389009 "Injection site granuloma"
* $sct#95402002 "Injection site induration"
* $sct#95381006 "Injection site infection"
* $sct#95382004 "Injection site abscess"
* $sct#95388000 "Injection site pain"
* $sct#95380007 "Injection site pigmentation change"
* $sct#95397001 "Injection site necrosis"
* $sct#95394008 "Injection site urticaria"
* $sct#95378001 "Injection site hypersensitivity"
* $sct#39579001 "Anaphylaxis"
* $sct#41291007 "Angioedema"

ValueSet: MesoConditionCodes
Id: meso-condition-codes
Title: "meso-fhir conditions"
Description: "The disorders a screening asks about (SNOMED CT, as a Condition when the answer is yes) and the reactions and complications of a session."
* insert Publication
* $sct#64779008 "Blood coagulation disorder"
* $sct#73211009 "Diabetes mellitus"
* $sct#200936003 "Lupus erythematosus"
* $sct#85828009 "Autoimmune disease"
* $sct#88594005 "Herpes simplex"
* $sct#33659008 "Keloid scar"
* $sct#430348006 "Localized infection of skin AND/OR subcutaneous tissue"
* $sct#95401009 "Injection site bruising"
* $sct#385494008 "Hematoma"
* $sct#247441003 "Erythema"
* $sct#95392007 "Injection site edema"
* $sct#95395009 "Injection site mass"
* $sct#24389009 "Injection site granuloma"
* $sct#95402002 "Injection site induration"
* $sct#95381006 "Injection site infection"
* $sct#95382004 "Injection site abscess"
* $sct#95388000 "Injection site pain"
* $sct#95380007 "Injection site pigmentation change"
* $sct#95397001 "Injection site necrosis"
* $sct#95394008 "Injection site urticaria"
* $sct#95378001 "Injection site hypersensitivity"
* $sct#39579001 "Anaphylaxis"
* $sct#41291007 "Angioedema"

ValueSet: MesoSessionObservationCodes
Id: meso-session-observation-codes
Title: "meso-fhir session observations"
Description: "What is observed at or after a session: pain, injection site reactions, measurements and outcome scales."
* insert Publication
* $loinc#72514-3 "Pain severity - 0-10 verbal numeric rating [Score] - Reported"
* $sct#95376002 "Injection site disorder"
* $loinc#8280-0 "Waist Circumference at umbilicus by Tape measure"
* $loinc#56074-8 "Circumference Neck"
* $meso#upper-arm-circumference "Mid upper arm circumference"
* $meso#hip-circumference "Hip circumference"
* $meso#thigh-circumference "Thigh circumference"
* $meso#gais "Global aesthetic improvement scale"
* $meso#wrinkle-severity "Wrinkle severity rating"
* $meso#pigmentation-index "Pigmentation index"
* $meso#satisfaction "Patient satisfaction"

ValueSet: MesoVisitType
Id: meso-visit-type
Title: "meso-fhir visit types"
Description: "What a mesotherapy clinic visit is for: the pre-treatment screening or an injection session."
* insert Publication
* $meso#visit-screening "Pre-treatment screening visit"
* $meso#visit-session "Mesotherapy session visit"

ValueSet: MesoLaterality
Id: meso-laterality
Title: "meso-fhir laterality"
Description: "The side of an injection site (SNOMED CT qualifier values)."
* insert Publication
* $sct#7771000 "Left"
* $sct#24028007 "Right"
* $sct#51440002 "Right and left"

ValueSet: MesoProvenanceActivity
Id: meso-provenance-activity
Title: "meso-fhir provenance activities"
Description: "What a sync transaction did to the resources of a record (v3 DataOperation): created them, revised them, or nullified them (a withdrawn record, entered in error)."
* insert Publication
* $v3-data-operation#CREATE "create"
* $v3-data-operation#UPDATE "revise"
* $v3-data-operation#NULLIFY "nullify"

ValueSet: MesoConsentScope
Id: meso-consent-scope
Title: "meso-fhir consent scopes"
Description: "What a consent recorded by the clinic is about: the treatment, or clinical photographs (privacy)."
* insert Publication
* $consentscope#treatment "Treatment"
* $consentscope#patient-privacy "Privacy Consent"

ValueSet: MesoConsentCategory
Id: meso-consent-category
Title: "meso-fhir consent categories"
Description: "The categories of a consent recorded by the clinic (LOINC, as in R4's consent-category value set): patient consent, and release of information for photographs that may be disclosed."
* insert Publication
* $loinc#59284-0 "Patient Consent"
* $loinc#64292-6 "Release of information consent"

ValueSet: MesoPhotoView
Id: meso-photo-view
Title: "meso-fhir photograph views"
Description: "The views of a clinical photograph (DICOM CID 4062 VL View: SNOMED CT codes with DICOM's meanings)."
* insert Publication
* $sct#399033003 "frontal"
* $sct#399173006 "left lateral"
* $sct#399198007 "right lateral"
* $sct#260421001 "left lateral oblique"
* $sct#260424009 "right lateral oblique"
* $sct#399182000 "oblique"
* $sct#399255003 "submentovertical"
* $sct#260461000 "vertex"

ValueSet: MesoPhotoContentType
Id: meso-photo-content-type
Title: "meso-fhir photograph formats"
Description: "The image formats a clinical photograph file may have."
* insert Publication
* $bcp13#image/jpeg "JPEG image"
* $bcp13#image/png "PNG image"
