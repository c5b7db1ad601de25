"""Where trials run: a local process pool or Ray tasks.

Both backends take the same :class:`~methodlab_ray.trial.TrialTask` list and yield
:class:`~methodlab_ray.trial.TrialOutcome` objects in the order trials finish. A trial is a
fresh process's work either way (spawned pool workers, Ray workers), so a trial's numbers do
not depend on the backend: the core seeds every trial from its seed alone.
"""

from __future__ import annotations

import concurrent.futures
import logging
import multiprocessing
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from methodlab.errors import UserError

from methodlab_ray.config import SweepOptions
from methodlab_ray.trial import TrialOutcome, TrialTask, run_trial

__all__ = ["available_cpus", "gpu_assignments", "local_gpus", "run_local", "run_ray", "run_tasks"]


def available_cpus() -> int:
    """CPUs this process may use (its affinity mask where the platform has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def gpu_assignments(workers: int, gpus_per_trial: int, gpus: int) -> list[str]:
    """``CUDA_VISIBLE_DEVICES`` per local worker: disjoint blocks of ``gpus_per_trial``.

    Example:
        >>> gpu_assignments(3, 2, 4)
        ['0,1', '2,3']
    """
    if gpus_per_trial == 0:
        return [""] * workers
    slots = min(workers, gpus // gpus_per_trial)
    return [",".join(str(slot * gpus_per_trial + i) for i in range(gpus_per_trial))
            for slot in range(slots)]


def local_gpus(options: SweepOptions) -> int:
    """GPUs of this machine when the local pool needs them (else 0, without importing torch).

    :raises UserError: when a trial needs more GPUs than the machine has.
    """
    if options.backend != "local" or not options.gpus_per_trial:
        return 0
    import torch

    gpus = torch.cuda.device_count()
    if gpus < options.gpus_per_trial:
        raise UserError(f"--gpus-per-trial {options.gpus_per_trial:g}: this machine has {gpus} "
                        "GPU(s)")
    return gpus


def _lost(task: TrialTask, exc: Exception) -> TrialOutcome:
    """The outcome of a trial whose process died: :func:`run_trial` could not report it."""
    message = " ".join(str(exc).split()) or "(no message)"
    return TrialOutcome(task.point, task.seed, str(Path(task.trials_dir) / task.name), None, 0.0,
                        error=f"{type(exc).__name__}: {message}")


def _claim_gpus(queue: multiprocessing.Queue) -> None:
    # Runs first in each spawned worker, before torch is imported there, so CUDA sees only
    # the worker's own block of devices for every trial it runs.
    devices = queue.get()
    if devices:
        os.environ["CUDA_VISIBLE_DEVICES"] = devices


def run_local(tasks: Sequence[TrialTask], options: SweepOptions) -> Iterator[TrialOutcome]:
    """Trials on a pool of spawned processes, ``workers = cpus // cpus_per_trial`` at once."""
    workers = options.workers or max(1, int(available_cpus() // options.cpus_per_trial))
    assignments = gpu_assignments(workers, int(options.gpus_per_trial), local_gpus(options))
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    for devices in assignments:
        queue.put(devices)
    with concurrent.futures.ProcessPoolExecutor(
            max_workers=min(len(assignments), len(tasks)), mp_context=context,
            initializer=_claim_gpus, initargs=(queue,)) as pool:
        futures = {pool.submit(run_trial, task): task for task in tasks}
        try:
            for future in concurrent.futures.as_completed(futures):
                try:
                    yield future.result()
                except Exception as exc:  # the worker died (killed, out of memory)
                    yield _lost(futures[future], exc)
        finally:
            for future in futures:
                future.cancel()


def run_ray(tasks: Sequence[TrialTask], options: SweepOptions) -> Iterator[TrialOutcome]:
    """Trials as Ray tasks with ``num_cpus=cpus_per_trial, num_gpus=gpus_per_trial``.

    Connects to ``--address`` when given; otherwise uses the Ray instance this process has
    already started (tests start one with 2 CPUs), or starts one with ``--workers ×
    cpus_per_trial`` CPUs (default: all of them) and shuts it down afterwards. Ray admits as
    many trials at once as the declared resources allow; ``--workers`` caps them further.
    """
    import ray

    started = not ray.is_initialized()
    if started:
        # Trials report through their outcomes: Ray's own start-up notes and the workers'
        # output would only interleave with the sweep's progress lines.
        quiet = {"log_to_driver": False, "logging_level": logging.ERROR}
        if options.address is not None:
            ray.init(address=options.address, **quiet)
        else:
            cpus = (options.workers * options.cpus_per_trial if options.workers
                    else available_cpus())
            ray.init(num_cpus=max(cpus, options.cpus_per_trial), include_dashboard=False,
                     **quiet)
    remote = ray.remote(num_cpus=options.cpus_per_trial, num_gpus=options.gpus_per_trial,
                        max_retries=0)(run_trial)
    waiting = list(tasks)
    running: dict[ray.ObjectRef, TrialTask] = {}
    limit = options.workers or len(tasks)
    try:
        while waiting or running:
            while waiting and len(running) < limit:
                task = waiting.pop(0)
                running[remote.remote(task)] = task
            (done,), _ = ray.wait(list(running), num_returns=1)
            task = running.pop(done)
            try:
                yield ray.get(done)
            except Exception as exc:  # the worker died (killed, out of memory, node lost)
                yield _lost(task, exc)
    finally:
        for ref in running:
            ray.cancel(ref, force=True)
        if started:
            ray.shutdown()


def run_tasks(tasks: Sequence[TrialTask], options: SweepOptions) -> Iterator[TrialOutcome]:
    """Dispatch to the backend ``options.backend`` names."""
    if not tasks:
        return iter(())
    return (run_ray if options.backend == "ray" else run_local)(tasks, options)
