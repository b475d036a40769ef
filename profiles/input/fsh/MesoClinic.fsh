Profile: MesoClinic
Parent: Organization
Id: meso-clinic
Title: "meso-fhir clinic"
Description: "The mesotherapy clinic, identified by the clinic's identifier base (a URI, system urn:ietf:rfc:3986) that its deployment configures, and named when the configuration gives a name. Every visit's serviceProvider and every session's performer.onBehalfOf refer to it."
* insert Publication
* identifier 1..*
* identifier.system 1..1
* identifier.system = "urn:ietf:rfc:3986"
* identifier.value 1..1
* active 1..1
* type 1..*
* type ^short = "organization-type#prov (Healthcare Provider)"
