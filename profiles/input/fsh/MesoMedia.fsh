Profile: MesoMedia
Parent: Media
Id: meso-media
Title: "meso-fhir clinical photograph"
Description: "A photograph taken at a session: an image (media-type image) from an external camera (DICOM XC), its view (DICOM CID 4062) and body site, part of the session's Procedure, in the session's visit. The image is referred to by content.url: a Binary of the same transaction (Binary/<id>, a relative URL read as a reference) or the clinic's image server; it is never inline."
* insert Publication
* obeys meso-media-1
* identifier 1..*
* partOf 1..1
* partOf only Reference(Procedure)
* type 1..1
* insert RequiredCoding(type, image, $media-type, image)
* modality 1..1
* insert RequiredCoding(modality, externalCamera, $dcm, XC)
* view from MesoPhotoView (required)
* subject 1..1
* subject only Reference(Patient)
* encounter 1..1
* encounter only Reference(Encounter)
* created[x] 1..1
* created[x] only dateTime
* bodySite from MesoBodySite (extensible)
* content.url 1..1
* content.data 0..0
* content.contentType from MesoPhotoContentType (required)

Invariant: meso-media-1
Description: "The image is referred to by URL, never inline; one held in a Binary has its content type, size and SHA-1 hash."
Severity: #error
Expression: "content.url.exists() and content.data.empty() and (content.url.startsWith('Binary/') implies (content.contentType.exists() and content.size.exists() and content.hash.exists()))"

Profile: MesoPhotoContent
Parent: Binary
Id: meso-photo-content
Title: "meso-fhir photograph content"
Description: "The bytes of a clinical photograph (JPEG or PNG), which a meso-media Media refers to. R4's Binary has no identifier: it is written by a deterministic id. Its security context is the Patient, so a server guards it as it guards the patient's data."
* insert Publication
* contentType from MesoPhotoContentType (required)
* securityContext 1..1
* securityContext only Reference(Patient)
* data 1..1
