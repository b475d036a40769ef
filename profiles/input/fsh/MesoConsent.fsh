Profile: MesoConsent
Parent: Consent
Id: meso-consent
Title: "meso-fhir consent"
Description: "The patient's signed consent for a course: to the treatment (scope treatment), or to clinical photographs (scope patient-privacy: taken and kept in the clinical record, collect and use, and disclosed only when the patient allowed it, category release of information). The policy is the clinic's consent form, by its URL (R4's consent policy codes are jurisdictions' forms); the patient is the performer, the clinic the organization."
* insert Publication
* obeys meso-consent-1 and meso-consent-2
* identifier 1..*
* scope from MesoConsentScope (required)
* category 1..*
* category from MesoConsentCategory (required)
* patient 1..1
* patient only Reference(Patient)
* dateTime 1..1
* performer 1..*
* performer only Reference(Patient)
* organization 1..*
* policy 1..*
* policy.uri 1..1
* policyRule 0..0
* provision 1..1
* provision.type 1..1

// Invariants restating constraints inside the provision backbone element (see MesoCourse.fsh).
Invariant: meso-consent-1
Description: "The provision is a permit, and a consent to photography says what it permits (collect, use, disclose)."
Severity: #error
Expression: "provision.exists() and provision.type = 'permit' and (scope.coding.where(code = 'patient-privacy').exists() implies provision.action.exists())"

Invariant: meso-consent-2
Description: "The consent's actions are collect, use or disclose (consentaction)."
Severity: #error
Expression: "provision.action.coding.all(system = 'http://terminology.hl7.org/CodeSystem/consentaction' and (code = 'collect' or code = 'use' or code = 'disclose'))"
