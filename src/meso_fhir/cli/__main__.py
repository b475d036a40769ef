"""`python -m meso_fhir.cli`: the same as the meso-fhir command."""

from . import main

main()
