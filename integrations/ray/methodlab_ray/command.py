"""``methodlab sweep FILE --grid key=v1,v2,... --seeds N [--backend local|ray] ...``."""

from __future__ import annotations

import argparse
import sys

from methodlab.errors import UserError

from methodlab_ray.config import BACKENDS, SweepOptions, parse_axis

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the sweep's arguments to ``methodlab sweep``'s parser."""
    parser.add_argument("file", help="the run file")
    parser.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2,...",
                        help="an override path and its values (TOML; repeat for more keys: "
                             "the grid is their product)")
    parser.add_argument("--seeds", type=int, required=True, metavar="N",
                        help="seeds 0..N-1 per grid point (replace the run file's seeds)")
    parser.add_argument("--backend", choices=BACKENDS, default="local",
                        help="a local process pool (default) or Ray tasks")
    parser.add_argument("--address", metavar="ADDR",
                        help="an existing Ray cluster (e.g. auto, ray://host:10001)")
    parser.add_argument("--out", default="methodlab-sweeps", metavar="DIR",
                        help="the sweep directory is DIR/<run name> (default: %(default)s)")
    parser.add_argument("--cpus-per-trial", type=float, default=1.0, metavar="C",
                        help="CPUs each trial needs (default: %(default)s)")
    parser.add_argument("--gpus-per-trial", type=float, default=0.0, metavar="G",
                        help="GPUs each trial needs (default: %(default)s)")
    parser.add_argument("--workers", type=int, metavar="K",
                        help="trials at once (default: CPUs / cpus-per-trial)")


def run(args: argparse.Namespace) -> int:
    """Run the sweep; exit status 1 when a trial failed, 0 otherwise."""
    from methodlab_ray.aggregate import format_sweep_table
    from methodlab_ray.sweep import sweep

    grid = tuple(parse_axis(text) for text in args.grid)
    try:
        options = SweepOptions(args.file, grid, args.seeds, args.backend, args.address,
                               args.out, args.cpus_per_trial, args.gpus_per_trial, args.workers)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    result = sweep(options)
    print(format_sweep_table(result.summary))
    print(f"summary: {result.directory / 'summary.json'}")
    for path in result.plots:
        print(f"plot: {path}")
    failures = [t for t in result.summary["trials"] if t["error"] is not None]
    for trial in failures:
        print(f"error: trial {trial['point']} seed {trial['seed']} ({trial['directory']}): "
              f"{trial['error']}", file=sys.stderr)
    if failures:
        print(f"{len(failures)} of {len(result.summary['trials'])} trial(s) failed; run the "
              "same command again to retry them", file=sys.stderr)
        return 1
    return 0
