Profile: MesoAllergy
Parent: AllergyIntolerance
Id: meso-allergy
Title: "meso-fhir allergy"
Description: "An allergy on the patient's list from a screening answer (to a substance of the clinic's products, coded by the substance; or no known allergy, as US Core records it) or from a hypersensitivity reaction at a session (against each product given, by the clinic's product code, unconfirmed, with the reaction). The code's binding stays R4's example binding: a product is coded in the clinic's own product code system."
* insert Publication
* identifier 1..*
* verificationStatus 1..1
* code 1..1
* patient only Reference(Patient)
* encounter 1..1
* encounter only Reference(Encounter)
* recordedDate 1..1
* asserter only Reference(Patient)
* reaction.manifestation from MesoReaction (extensible)
