"""`make package`: build the AWS artifacts and print their sizes."""

import argparse

from intake_build.artifacts import build


def main() -> None:
    parser = argparse.ArgumentParser(prog="intake_build")
    parser.add_argument("--architecture", choices=["x86_64", "arm64"], default="x86_64")
    args = parser.parse_args()
    artifacts = build(dependencies=True, architecture=args.architecture)
    print(f"artifacts in {artifacts.directory}")
    for name, path in sorted(artifacts.files.items()):
        print(f"  {name:15} {path.stat().st_size / 1024:10.1f} KiB")


if __name__ == "__main__":
    main()
