Profile: MesoInjectionSite
Parent: BodyStructure
Id: meso-injection-site
Title: "meso-fhir injection site"
Description: "The site of one injection with its side (left, right, or right and left), for the injection's dosage.site to refer to through the core extension bodySite: R4's coded body sites cannot say the side."
* insert Publication
* identifier 1..*
* location 1..1
* location from MesoBodySite (extensible)
* locationQualifier 1..*
* locationQualifier from MesoLaterality (required)
* patient only Reference(Patient)
