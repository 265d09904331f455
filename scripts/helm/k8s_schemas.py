"""Extracts the strict Kubernetes JSON schemas of some versions from a kubernetes-validate wheel
into a directory kubeconform can read offline:

    k8s_schemas.py <wheel> <out-dir> 1.31.0 [1.35.0 ...]

writes <out-dir>/v1.31.0-local-strict/<kind>-<group>-<version>.json, for kubeconform's
-schema-location '<out-dir>/{{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json'.

The wheel's schemas refer to their shared definitions by an absolute `/api/_definitions.json`
under an `$id` of https://kubernetes.io/...; both are rewritten so that the references resolve
to the `_definitions.json` file beside each schema.
"""

import json
import pathlib
import shutil
import sys
import zipfile

PREFIX = "kubernetes_validate/kubernetes-json-schema/"


def main() -> None:
    wheel, out, versions = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3:]
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        for version in versions:
            folder = f"v{version}-local-strict"
            members = [n for n in names if n.startswith(f"{PREFIX}{folder}/") and n.endswith(".json")]
            if not members:
                sys.exit(f"{wheel} has no schemas for Kubernetes {version}")
            tmp = out / f".{folder}.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            for name in members:
                text = zf.read(name).decode("utf-8")
                text = text.replace('"/api/_definitions.json#', '"_definitions.json#')
                doc = json.loads(text)
                doc.pop("$id", None)
                (tmp / pathlib.PurePosixPath(name).name).write_text(json.dumps(doc))
            final = out / folder
            shutil.rmtree(final, ignore_errors=True)
            tmp.rename(final)
            print(f"  {len(members)} schemas for Kubernetes {version} in {final}")


if __name__ == "__main__":
    main()
