"""DeepGMG training throughput: graphs advanced in lockstep against one graph at a time.

The same DeepGMG model (DGL's cycle configuration: D = 16, G = 32, T = 2) and the same
training graphs are trained, in one process, by (a) the plugin's batched loss, ``B`` graphs per
optimizer update advanced in lockstep, and (b) one graph per forward/backward pass and update,
as DGL's batch-size-1 example does. Both use Adam (lr 5e-4). Prints training graphs per
second of each and their ratio (target >= 10x), after checking that the batched
log-likelihood equals the per-graph ones (so (a) computes the same objective).

Usage: ``python benchmarks/graph_generation_batching.py [--family cycle] [--graphs 256]
[--batch 32] [--threads 1]`` (``--family molecules`` uses RDKit's first_5K.smi, <= 20 atoms).
"""

from __future__ import annotations

import argparse
import random
import time

import torch
from methodlab_graph_generation.dgmg import DGMG
from methodlab_torch_geometric.graphs import graph_set, nx_to_data
from methodlab_torch_geometric.molecules import default_smiles_path, load_molecules, read_smiles
from torch_geometric.data import Batch, Data

ATOMS = ("C", "N", "O", "F", "S", "Cl", "Br")


def training_graphs(family: str, count: int) -> tuple[list[Data], int, int]:
    """``count`` graphs of the family, with their numbers of node and edge types."""
    if family == "molecules":
        graphs, _, _ = load_molecules(read_smiles(default_smiles_path()), atoms=ATOMS,
                                      max_atoms=20)
        return graphs[:count], len(ATOMS), 3
    rng = random.Random(0)
    return [nx_to_data(g) for g in graph_set(family, count, min_nodes=10, max_nodes=15,
                                             rng=rng)], 1, 1


def train(model: DGMG, batches: list[Batch]) -> float:
    """Seconds to run one optimizer update per batch."""
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-4)
    start = time.perf_counter()
    for batch in batches:
        optimizer.zero_grad()
        loss = -model.log_likelihood(batch).mean()
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", default="cycle",
                        choices=["cycle", "tree", "barabasi-albert", "molecules"])
    parser.add_argument("--graphs", type=int, default=256)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    graphs, node_types, edge_types = training_graphs(args.family, args.graphs)
    torch.manual_seed(0)
    model = DGMG(node_types, edge_types)
    initial = {k: v.clone() for k, v in model.state_dict().items()}

    # Same objective: the lockstep batch gives each graph its own log-likelihood.
    with torch.no_grad():
        together = model.log_likelihood(Batch.from_data_list(graphs[: args.batch]))
        alone = torch.cat([model.log_likelihood(Batch.from_data_list([g]))
                           for g in graphs[: args.batch]])
    torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-4)

    batched = [Batch.from_data_list(graphs[i : i + args.batch])
               for i in range(0, len(graphs), args.batch)]
    single = [Batch.from_data_list([g]) for g in graphs]
    model.load_state_dict(initial)
    seconds_batched = train(model, batched)
    model.load_state_dict(initial)
    seconds_single = train(model, single)
    rate_batched, rate_single = len(graphs) / seconds_batched, len(graphs) / seconds_single
    print(f"family {args.family}, {len(graphs)} graphs, batch {args.batch}, "
          f"threads {args.threads}")
    print(f"batched (lockstep):  {rate_batched:8.1f} graphs/s  ({seconds_batched:.2f} s)")
    print(f"one graph at a time: {rate_single:8.1f} graphs/s  ({seconds_single:.2f} s)")
    print(f"speed-up: {rate_batched / rate_single:.1f}x (target >= 10x)")


if __name__ == "__main__":
    main()
