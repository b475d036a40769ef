"""What writing resources from JSON templates would save: one resource type, measured.

Issue 11's map target leaves about 10 µs a resource for everything beyond checking each record
once and dumping the output (``bench_stages.py``). The design that could come nearest writes
each resource as JSON text from a per-type template instead of building dicts, resolving the
references in them and serialising them. This bench writes the simplest case of the most
numerous type of the generated export that way, a pain score's Observation with its narrative,
and times it beside the dict path (``map_observation`` + ``with_narrative`` + ``entry_json``),
after checking that both give the same bytes for every one of them. CPU µs per resource, least
of three, one core. Both ways find every id and full URL remembered from the run before; in a
real map a resource's own id is not, which adds about 1.4 µs to either. The template is a
measurement, not a second mapping: it covers one case only.

    .venv/bin/python bench/bench_template.py          # 20,000 records
"""

from __future__ import annotations

import os
import sys
import tempfile
from html import escape
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).parent))
from generate import write_export
from timing import best

from meso_fhir import codes
from meso_fhir.mapping.bundle import _escape, conditional_url, entry_json
from meso_fhir.mapping.export import fewer_collections
from meso_fhir.mapping.identity import ClinicConfig, full_url, resource_id
from meso_fhir.mapping.narrative import with_narrative
from meso_fhir.mapping.resources import concept, fhir_datetime, map_observation
from meso_fhir.model import load
from meso_fhir.model.records import PainScore, SessionObservation


class PainTemplate:
    """The conditional-update entry of a pain score's Observation, as JSON text: the constant
    parts encoded once, the record's values escaped as JSON (and as XHTML in the narrative)."""

    def __init__(self, config: ClinicConfig) -> None:
        self.zone = config.timezone
        self.systems = [config.system(k) for k in ("observation", "session", "patient")]
        own = self.systems[0]
        self.encounters = config.system("encounter")
        self.head = (
            '","resource":{"resourceType":"Observation","meta":{"profile":["'
            f'{codes.PROFILE_SESSION_OBSERVATION}"]}},"text":{{"status":"generated","div":'
            '"<div xmlns=\\"http://www.w3.org/1999/xhtml\\"><p>'
        ).encode()
        self.identifier = b'</p></div>"},"identifier":[{"system":' + orjson.dumps(own)
        self.coded = (
            b'","category":['
            + orjson.dumps(concept([codes.SURVEY_CATEGORY]))
            + b'],"code":'
            + orjson.dumps(concept([codes.PAIN_SCORE]))
        )
        # The request's URL, less the identifier value: a real one from conditional_url.
        blank = {"resourceType": "Observation", "identifier": [{"system": own, "value": ""}]}
        url = conditional_url(blank)
        self.request = f'"request":{{"method":"PUT","url":"{url}'.encode()

    def entry(self, observation: SessionObservation) -> bytes:
        assert isinstance(observation.finding, PainScore)
        own, session, patient = self.systems
        when = fhir_datetime(observation.observed_at, self.zone)
        status = "entered-in-error" if observation.withdrawn else "final"
        score = str(observation.finding.score)
        lines = (f"{codes.PAIN_SCORE[2]}: {score}", f"When: {when}", f"Status: {status}")
        div = "</p><p>".join(lines)
        if "&" in div or "<" in div or ">" in div:  # as with_narrative: escaped when needed
            div = "</p><p>".join(escape(line, quote=False) for line in lines)
        visit = resource_id(self.encounters, f"session/{observation.session_id}")
        return b"".join(
            (
                b'{"fullUrl":"',
                full_url(f"Observation/{resource_id(own, observation.id)}").encode(),
                self.head,
                orjson.dumps(div)[1:-1],
                self.identifier,
                b',"value":',
                orjson.dumps(observation.id),
                b'}],"partOf":[{"reference":"',
                full_url(f"Procedure/{resource_id(session, observation.session_id)}").encode(),
                b'"}],"status":"',
                status.encode(),
                self.coded,
                b',"subject":{"reference":"',
                full_url(f"Patient/{resource_id(patient, observation.patient_id)}").encode(),
                b'"},"encounter":{"reference":"',
                full_url(f"Encounter/{visit}").encode(),
                b'"},"effectiveDateTime":"',
                when.encode(),
                b'","valueInteger":',
                score.encode(),
                b"},",
                self.request,
                _escape(observation.id, "/").encode(),  # as conditional_url escapes it
                b'"}}',
            )
        )


def main(size: int) -> None:
    os.sched_setaffinity(0, {0})
    config = ClinicConfig()
    template = PainTemplate(config)
    with tempfile.TemporaryDirectory() as name, fewer_collections():
        path = Path(name) / "export.jsonl"
        write_export(path, size)
        pains = [
            r
            for r in load(path).records()
            if isinstance(r, SessionObservation) and isinstance(r.finding, PainScore)
        ]

        def dicts(observation: SessionObservation) -> bytes:
            return entry_json(with_narrative(map_observation(observation, config)[0]))

        differ = sum(template.entry(o) != dicts(o) for o in pains)
        if differ:
            sys.exit(f"{differ} of {len(pains)} entries differ between the two ways")
        by_dicts = best(lambda: [dicts(o) for o in pains])
        by_template = best(lambda: [template.entry(o) for o in pains])
    n = len(pains)
    print(f"{n} pain-score Observations, the same bytes both ways; CPU µs per resource, one core")
    print(f"  dicts (map_observation + with_narrative + entry_json)  {by_dicts / n * 1e6:6.1f}")
    print(f"  a JSON template                                        {by_template / n * 1e6:6.1f}")
    print(f"  template / dicts                                       {by_template / by_dicts:6.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
