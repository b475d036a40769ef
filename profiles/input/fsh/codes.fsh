// The project's own CodeSystem: every local code src/meso_fhir/codes.py can send (LOCAL there),
// with the same display. Used only where no verified standard code exists (terminology.md).
// build.sh checks that this list and codes.py agree.
CodeSystem: MesoCodeSystem
Id: meso
Title: "meso-fhir local codes"
Description: "Local concepts of mesotherapy records for which no verified SNOMED CT or LOINC code exists: the procedure itself, injection techniques, aesthetic indications, skin classifications, contraindication questions, the eligibility decision, some measurements and outcome scales, and substances."
* ^url = "https://meso-fhir.org/fhir/CodeSystem/meso"
* insert Publication
* ^caseSensitive = true
* ^content = #complete

// procedure
* #mesotherapy "Mesotherapy session" "A session of mesotherapy: small amounts of one or more substances (vitamins, enzymes, hormones, plant extracts, minerals, hyaluronic acid, lipolytic agents) injected with fine needles into the dermis or the superficial subcutaneous tissue of one or more body areas."

// injection technique (MedicationAdministration.dosage.method)
* #technique-nappage "Nappage" "Many very superficial intradermal micro-injections given in rapid succession over an area, with the needle barely entering the skin."
* #technique-point-by-point "Point-by-point" "Separate injections of a small volume each at regularly spaced points of the treated area."
* #technique-papule "Papule" "Very superficial intradermal injection of a small bolus that raises a visible papule (bleb) in the skin."
* #technique-linear "Linear (retrograde) threading" "The needle is advanced along a line under the skin and the product is injected while the needle is withdrawn."

// indications (CarePlan.activity.detail.reasonCode, Procedure.reasonCode)
* #indication-skin-rejuvenation "Skin rejuvenation" "Treatment aimed at improving the hydration, texture, firmness and radiance of ageing or photo-aged skin."
* #indication-fat-reduction "Localised fat reduction" "Treatment aimed at reducing a localised deposit of subcutaneous fat."
* #indication-body-recontouring "Body recontouring" "Treatment aimed at improving the contour of a body area (localised fat, cellulite, skin laxity)."
* #indication-pigmentation "Pigmentation disorder" "Treatment of a disorder of skin pigmentation such as melasma or lentigines."
* #indication-wrinkles "Wrinkles and fine lines" "Treatment of wrinkles and fine lines of the skin."
* #indication-hair-loss "Hair loss" "Treatment of hair loss or thinning of the scalp hair."

// visit types (Encounter.type)
* #visit-screening "Pre-treatment screening visit" "The visit at which the pre-treatment screening is done: questionnaire, vital signs, skin assessment and the eligibility decision."
* #visit-session "Mesotherapy session visit" "The visit at which one session of a course of mesotherapy is given."

// Fitzpatrick skin type (value of the Observation coded LOINC 66555-4)
* #fitzpatrick-I "Fitzpatrick skin type I" "Fitzpatrick skin phototype I: always burns, never tans."
* #fitzpatrick-II "Fitzpatrick skin type II" "Fitzpatrick skin phototype II: usually burns, tans minimally."
* #fitzpatrick-III "Fitzpatrick skin type III" "Fitzpatrick skin phototype III: sometimes burns mildly, tans uniformly."
* #fitzpatrick-IV "Fitzpatrick skin type IV" "Fitzpatrick skin phototype IV: burns minimally, always tans well."
* #fitzpatrick-V "Fitzpatrick skin type V" "Fitzpatrick skin phototype V: very rarely burns, tans very easily."
* #fitzpatrick-VI "Fitzpatrick skin type VI" "Fitzpatrick skin phototype VI: never burns, deeply pigmented skin."

// Glogau photo-ageing classification (question and answers)
* #glogau-photoageing "Glogau photo-ageing classification" "Assessment of the degree of photo-ageing of the skin on the Glogau scale (type I to IV)."
* #glogau-I "Glogau photo-ageing type I" "Glogau type I, no wrinkles: early photo-ageing, mild pigmentary changes, minimal wrinkles."
* #glogau-II "Glogau photo-ageing type II" "Glogau type II, wrinkles in motion: early to moderate photo-ageing, lines appear with facial movement."
* #glogau-III "Glogau photo-ageing type III" "Glogau type III, wrinkles at rest: advanced photo-ageing, visible wrinkles and dyschromia at rest."
* #glogau-IV "Glogau photo-ageing type IV" "Glogau type IV, only wrinkles: severe photo-ageing, wrinkles throughout, little normal skin."

// contraindication questions (Observation.code, answered yes or no in LOINC/SNOMED CT) and their category
* #contraindication "Contraindication screening answer" "Observation category: the answer to one contraindication question asked at the pre-treatment screening."
* #ci-pregnancy "Pregnancy" "Contraindication question: is the patient pregnant?"
* #ci-breastfeeding "Breastfeeding" "Contraindication question: is the patient breastfeeding?"
* #ci-bleeding-disorder "Bleeding disorder" "Contraindication question: does the patient have a bleeding or blood coagulation disorder?"
* #ci-anticoagulants "Anticoagulant therapy" "Contraindication question: is the patient taking anticoagulant medication?"
* #ci-diabetes "Diabetes" "Contraindication question: does the patient have diabetes mellitus?"
* #ci-lupus "Lupus" "Contraindication question: does the patient have lupus erythematosus?"
* #ci-autoimmune-disease "Autoimmune disease" "Contraindication question: does the patient have an autoimmune disease?"
* #ci-active-skin-infection "Active skin infection" "Contraindication question: is there an active skin infection in or near the area to be treated?"
* #ci-herpes "Herpes (active or recurrent at the site)" "Contraindication question: does the patient have active herpes, or recurrent herpes at the site to be treated?"
* #ci-keloid "Keloid tendency" "Contraindication question: does the patient tend to form keloid or hypertrophic scars?"
* #ci-component-allergy "Allergy to a component" "Contraindication question: is the patient allergic to a component of the products to be injected?"

// eligibility decision (question and answers)
* #eligibility "Mesotherapy eligibility decision" "The decision, at the end of the pre-treatment screening, whether the patient may start a course of mesotherapy."
* #eligible "Eligible" "The patient may start the course of mesotherapy."
* #deferred "Deferred" "The course is postponed until a temporary contraindication has passed (for example pregnancy, breastfeeding, an active infection, a medicine to be stopped first)."
* #contraindicated "Contraindicated" "The patient must not receive mesotherapy."

// measurements without a verified LOINC code
* #upper-arm-circumference "Mid upper arm circumference" "Circumference of the upper arm midway between the acromion and the olecranon, measured with a tape measure (LOINC 56072-2 could not be verified)."
* #hip-circumference "Hip circumference" "Circumference of the hips at the level of the greatest protrusion of the buttocks, measured with a tape measure."
* #thigh-circumference "Thigh circumference" "Circumference of the thigh at a documented level, measured with a tape measure."

// outcome scales
* #gais "Global aesthetic improvement scale" "Global aesthetic improvement of the treated area compared with before the treatment, rated on the Global Aesthetic Improvement Scale (GAIS)."
* #wrinkle-severity "Wrinkle severity rating" "Severity of the wrinkles of the treated area, rated on a wrinkle severity rating scale."
* #pigmentation-index "Pigmentation index" "Severity of the pigmentation of the treated area, rated on a pigmentation index."
* #satisfaction "Patient satisfaction" "The patient's satisfaction with the result of the treatment, rated on a scale."

// session observation category
* #adverse-event "Reported as an adverse event" "Observation category: the reaction observed after a session is reported as an adverse event."

// substances without a verified SNOMED CT code
* #substance-phosphatidylcholine "Phosphatidylcholine" "Phosphatidylcholine (polyenylphosphatidylcholine), a phospholipid injected as a lipolytic agent."
* #substance-deoxycholic-acid "Deoxycholic acid" "Deoxycholic acid (sodium deoxycholate), a bile acid injected as a lipolytic (adipocytolytic) agent."
