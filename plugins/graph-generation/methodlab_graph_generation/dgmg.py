"""DeepGMG: a graph as a sequence of add-node, add-edge and pick-node decisions.

References:
    Learning Deep Generative Models of Graphs (Li, Vinyals, Dyer, Pascanu and Battaglia,
    2018), https://arxiv.org/abs/1803.03324

A graph ``G`` with node order ``pi`` is generated as

.. math::
    p(G, \\pi) = \\prod_v p_{\\text{addnode}}(\\tau_v \\mid G_{<v})
        \\prod_{k} p_{\\text{addedge}}(1 \\mid G_{v,k})\\,
        p_{\\text{nodes}}(u_k, r_k \\mid G_{v,k}) \\; p_{\\text{addedge}}(0 \\mid G_{v,K_v})
        \\;\\cdot\\; p_{\\text{addnode}}(\\text{stop} \\mid G)

with, on the partial graph's node states ``h_v`` and graph embedding ``h_G``:

* graph embedding (gated sum): :math:`h_G = \\sum_v \\sigma(g_m(h_v)) \\odot f_m(h_v)`;
* add node: :math:`\\mathrm{softmax}(f_{an}(h_G))` over ``K`` node types and stop;
* new node state: :math:`h_v = f_{init}([e_{\\tau_v}, h_G^{init}])` (a separate gated sum);
* add edge: :math:`\\sigma(f_{ae}([h_G, h_v]))`;
* pick node and edge type: :math:`\\mathrm{softmax}_{u, r}\\, f_s(h_u, h_v)_r` over the earlier
  nodes ``u`` not yet joined to ``v``;
* after each added edge, ``T`` propagation rounds
  :math:`a_v = \\sum_{u \\in N(v)} f_e^{(t)}([h_v, h_u, x_{uv}])`,
  :math:`h_v \\leftarrow \\mathrm{GRU}^{(t)}(a_v, h_v)`.

Training maximises ``log p(G, pi)`` for the canonical order the environment stores (teacher
forcing). All graphs of a batch advance in lockstep: the ``v``-th add-node decision of every
graph is one batched operation, and so is the ``k``-th add-edge decision of every graph still
adding edges to its ``v``-th node, so a batch costs as many sequential steps as its longest
decision sequence, not the sum over graphs.

.. note:: As in DGL's reference (``dmlc/dgl`` ``examples/pytorch/dgmg``), node states are
   propagated after each added edge only, not before every decision as in the paper. Unlike
   DGL, pick-node excludes nodes already joined to ``v`` (in training and sampling alike), so
   duplicate edges cannot be proposed.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import torch
from torch import nn
from torch_geometric.data import Batch
from torch_geometric.nn import MessagePassing
from torch_geometric.utils import scatter

__all__ = ["DGMG", "GatedSum", "Propagation", "Sample", "segment_log_softmax"]


def segment_log_softmax(scores: torch.Tensor, group: torch.Tensor, groups: int) -> torch.Tensor:
    """Log-softmax of ``scores`` over all entries (rows and columns) of each group of rows.

    Shapes:
        scores: ``(C, R)`` (candidate ``u`` by edge type ``r``); group: ``(C,)`` in
        ``0 .. groups-1``; returns ``(C, R)``.

    Example:
        >>> s = segment_log_softmax(torch.zeros(3, 2), torch.tensor([0, 0, 1]), 2)
        >>> s.exp().tolist()
        [[0.25, 0.25], [0.25, 0.25], [0.5, 0.5]]
    """
    top = scatter(scores.detach().amax(1), group, 0, dim_size=groups, reduce="max")  # (groups,)
    shifted = scores - top[group, None]
    total = scatter(shifted.exp().sum(1), group, 0, dim_size=groups, reduce="sum")  # (groups,)
    return shifted - total.log()[group, None]


class GatedSum(nn.Module):
    """Gated sum of node states over each graph's existing nodes, ``h_G = sum s(g(h)) f(h)``.

    Shapes:
        h: ``(N, D)``; graph: ``(N,)``; exists: ``(N,)`` bool; returns ``(B, G)``.
    """

    def __init__(self, node_hidden: int, graph_hidden: int) -> None:
        super().__init__()
        self.gate = nn.Linear(node_hidden, graph_hidden)
        self.value = nn.Linear(node_hidden, graph_hidden)

    def forward(self, h: torch.Tensor, graph: torch.Tensor, exists: torch.Tensor,
                graphs: int) -> torch.Tensor:
        terms = torch.sigmoid(self.gate(h)) * self.value(h) * exists[:, None]  # (N, G)
        return scatter(terms, graph, 0, dim_size=graphs, reduce="sum")


class Propagation(MessagePassing):
    """One propagation round: summed messages ``f_e([h_v, h_u, x_uv])`` and a GRU update.

    Shapes:
        h: ``(N, D)``; edge_index: ``(2, E)`` (both directions); edge_attr: ``(E, R)``;
        nodes: ``(n,)`` the nodes to update (all when ``None``); returns ``(n, D)``.
    """

    def __init__(self, node_hidden: int, edge_features: int) -> None:
        super().__init__(aggr="add")
        self.message_net = nn.Linear(2 * node_hidden + edge_features, 2 * node_hidden)
        self.update_cell = nn.GRUCell(2 * node_hidden, node_hidden)

    def forward(self, h: torch.Tensor, edge_index: torch.Tensor, edge_attr: torch.Tensor,
                nodes: torch.Tensor | None = None) -> torch.Tensor:
        a = self.propagate(edge_index, h=h, edge_attr=edge_attr, size=(len(h), len(h)))
        if nodes is None:
            return self.update_cell(a, h)  # (N, D)
        return self.update_cell(a[nodes], h[nodes])  # (n, D)

    def message(self, h_i: torch.Tensor, h_j: torch.Tensor,
                edge_attr: torch.Tensor) -> torch.Tensor:
        return self.message_net(torch.cat([h_i, h_j, edge_attr], 1))  # (E, 2D)


class _PartialGraphs:
    """Node slots of ``B`` graphs being built: states, which slots exist, edges so far."""

    def __init__(self, model: DGMG, graph: torch.Tensor, local: torch.Tensor,
                 graphs: int) -> None:
        self.model = model
        self.graph = graph  # (N,) graph of each slot
        self.local = local  # (N,) position of each slot in its graph's order
        self.graphs = graphs
        weight = model.init.weight
        self.h = weight.new_zeros(len(graph), model.node_hidden)  # (N, D)
        self.exists = torch.zeros(len(graph), dtype=torch.bool, device=graph.device)
        self.edge_index = graph.new_zeros(2, 0)  # (2, E) both directions
        self.edge_attr = weight.new_zeros(0, model.edge_types)  # (E, R)

    def embed(self, module: GatedSum) -> torch.Tensor:
        return module(self.h, self.graph, self.exists, self.graphs)  # (B, G)

    def add_nodes(self, slots: torch.Tensor, types: torch.Tensor) -> None:
        h_init = self.embed(self.model.init_embed)[self.graph[slots]]  # (n, G)
        h_new = self.model.init(torch.cat([self.model.node_embed(types), h_init], 1))
        self.h = self.h.index_put((slots,), h_new)
        self.exists = self.exists.index_fill(0, slots, True)

    def add_edges(self, u: torch.Tensor, v: torch.Tensor, types: torch.Tensor) -> None:
        pairs = torch.stack([torch.cat([u, v]), torch.cat([v, u])])  # (2, 2n)
        attr = nn.functional.one_hot(types, self.model.edge_types).to(self.h.dtype).repeat(2, 1)
        self.edge_index = torch.cat([self.edge_index, pairs], 1)
        self.edge_attr = torch.cat([self.edge_attr, attr])
        # Only graphs that gained an edge propagate (the others keep their states), so only
        # their edges send messages and only their nodes are updated.
        changed = torch.zeros(self.graphs, dtype=torch.bool, device=u.device)
        changed[self.graph[v]] = True
        nodes = torch.nonzero(changed[self.graph] & self.exists)[:, 0]  # (n,)
        inside = changed[self.graph[self.edge_index[0]]]  # (E,)
        edge_index, edge_attr = self.edge_index[:, inside], self.edge_attr[inside]
        for layer in self.model.propagation:
            self.h = self.h.index_put((nodes,), layer(self.h, edge_index, edge_attr, nodes))

    def add_node_logits(self) -> torch.Tensor:
        return self.model.add_node(self.embed(self.model.graph_embed))  # (B, K + 1)

    def add_edge_logits(self, v_slot: torch.Tensor) -> torch.Tensor:
        h_g = self.embed(self.model.graph_embed)  # (B, G)
        return self.model.add_edge(torch.cat([h_g, self.h[v_slot]], 1)).squeeze(1)  # (B,)

    def pick_scores(self, candidates: torch.Tensor, v_slot: torch.Tensor) -> torch.Tensor:
        h_v = self.h[v_slot[self.graph[candidates]]]  # (C, D)
        return self.model.pick(torch.cat([self.h[candidates], h_v], 1))  # (C, R)


@attrs.frozen
class Sample:
    """One sampled graph: node types, edges ``(u, v, r)`` with ``u < v``, and whether the
    node cap stopped it."""

    node_types: list[int]
    edges: list[tuple[int, int, int]]
    truncated: bool


class DGMG(nn.Module):
    """The DeepGMG generator; ``log_likelihood(batch)`` and :meth:`sample`.

    Arguments:
        node_types: ``K``; edge_types: ``R``; node_hidden: ``D``; graph_hidden: ``G``;
        rounds: ``T``.

    Example:
        >>> from torch_geometric.data import Data
        >>> path = Data(node_type=torch.zeros(3, dtype=torch.long), num_nodes=3,
        ...             edge_index=torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]),
        ...             edge_type=torch.zeros(4, dtype=torch.long))
        >>> model = DGMG(1, 1)
        >>> model.log_likelihood(Batch.from_data_list([path, path])).shape
        torch.Size([2])
    """

    def __init__(self, node_types: int, edge_types: int, node_hidden: int = 16,
                 graph_hidden: int = 32, rounds: int = 2) -> None:
        super().__init__()
        self.node_types, self.edge_types = node_types, edge_types
        self.node_hidden, self.graph_hidden, self.rounds = node_hidden, graph_hidden, rounds
        self.node_embed = nn.Embedding(node_types, node_hidden)
        self.init_embed = GatedSum(node_hidden, graph_hidden)
        self.init = nn.Linear(node_hidden + graph_hidden, node_hidden)
        self.graph_embed = GatedSum(node_hidden, graph_hidden)
        self.add_node = nn.Linear(graph_hidden, node_types + 1)  # last logit: stop
        self.add_edge = nn.Linear(graph_hidden + node_hidden, 1)
        self.pick = nn.Linear(2 * node_hidden, edge_types)
        self.propagation = nn.ModuleList(Propagation(node_hidden, edge_types)
                                         for _ in range(rounds))

    def extra_repr(self) -> str:
        return (f"K={self.node_types}, R={self.edge_types}, D={self.node_hidden}, "
                f"G={self.graph_hidden}, T={self.rounds}")

    def forward(self, batch: Batch) -> torch.Tensor:
        return self.log_likelihood(batch)

    def log_likelihood(self, batch: Batch) -> torch.Tensor:
        """``log p(G, pi)`` of every graph of ``batch`` in its stored order, ``(B,)`` nats."""
        graphs = batch.num_graphs
        graph = batch.batch  # (N,)
        ptr = batch.ptr
        local = torch.arange(batch.num_nodes, device=graph.device) - ptr[graph]  # (N,)
        sizes = ptr[1:] - ptr[:-1]  # (B,)
        src, dst = batch.edge_index
        forward = src < dst
        # Undirected edges (u < v) sorted by (v, u): the order they are added in.
        u, v, r = src[forward], dst[forward], batch.edge_type[forward]
        order = torch.argsort(v * (batch.num_nodes + 1) + u)
        u, v, r = u[order], v[order], r[order]
        earlier = torch.bincount(v, minlength=batch.num_nodes)  # (N,) edges to earlier nodes
        # k: rank of each edge among those of its later end.
        first = torch.searchsorted(v, v)
        k = torch.arange(len(v), device=v.device) - first
        state = _PartialGraphs(self, graph, local, graphs)
        total = state.h.new_zeros(graphs)
        arange = torch.arange(graphs, device=graph.device)
        for step in range(int(sizes.max()) + 1):
            live = sizes >= step  # graphs making their step-th add-node decision
            target = torch.where(sizes > step, 0, self.node_types)  # type or stop
            adding = sizes > step
            slot = torch.clamp(ptr[:-1] + step, max=batch.num_nodes - 1)  # (B,) new node
            target[adding] = batch.node_type[slot[adding]]
            logp = state.add_node_logits().log_softmax(1)[arange, target]
            total = total + torch.where(live, logp, 0.0)
            if not adding.any():
                break
            state.add_nodes(slot[adding], target[adding])
            degree = torch.where(adding, earlier[slot], -1)  # (B,) edges the new node gets
            joined = torch.zeros_like(state.exists)
            for edge_step in range(int(degree.max()) + 1):
                deciding = degree >= edge_step
                yes = degree > edge_step
                logit = state.add_edge_logits(slot)
                logp = -nn.functional.binary_cross_entropy_with_logits(
                    logit, yes.to(logit.dtype), reduction="none")
                total = total + torch.where(deciding, logp, 0.0)
                if not yes.any():
                    break
                # The edge_step-th edge of each new node, and the legal choices for it.
                chosen = (k == edge_step) & yes[graph[v]] & (v == slot[graph[v]])
                cu, cv, cr = u[chosen], v[chosen], r[chosen]
                candidates = torch.nonzero(state.exists & (local < step) & ~joined
                                           & yes[graph])[:, 0]
                scores = state.pick_scores(candidates, slot)  # (C, R)
                log_probs = segment_log_softmax(scores, graph[candidates], graphs)
                row = torch.searchsorted(candidates, cu)  # candidates are sorted slots
                total = total.index_add(0, graph[cv], log_probs[row, cr])
                joined = joined.index_fill(0, cu, True)
                state.add_edges(cu, cv, cr)
        return total

    @torch.no_grad()
    def sample(self, count: int, generator: torch.Generator, *, max_nodes: int,
               max_edge_tries: int) -> list[Sample]:
        """Draw ``count`` graphs in parallel (ancestral sampling with the given generator).

        A sample stops when add-node picks stop or when it has ``max_nodes`` nodes
        (``truncated``); a new node gets at most ``max_edge_tries`` add-edge decisions, and
        pick-node only offers earlier nodes it is not joined to, so there are no duplicate
        edges and no self-loops.
        """
        device = self.init.weight.device
        slots = torch.arange(count * max_nodes, device=device)
        graph, local = slots // max_nodes, slots % max_nodes
        state = _PartialGraphs(self, graph, local, count)
        alive = torch.ones(count, dtype=torch.bool, device=device)
        truncated = torch.zeros_like(alive)
        types = torch.full((count * max_nodes,), -1, dtype=torch.long, device=device)
        edges: list[torch.Tensor] = []
        for step in range(max_nodes + 1):
            probs = state.add_node_logits().softmax(1)  # (B, K + 1)
            choice = torch.multinomial(probs, 1, generator=generator)[:, 0]
            if step == max_nodes:
                truncated = alive & (choice != self.node_types)
                break
            alive = alive & (choice != self.node_types)
            if not alive.any():
                break
            slot = graph.new_zeros(count) + step + torch.arange(count, device=device) * max_nodes
            state.add_nodes(slot[alive], choice[alive])
            types[slot[alive]] = choice[alive]
            open_ = alive.clone()
            joined = torch.zeros_like(state.exists)
            for _ in range(min(max_edge_tries, step)):
                p_edge = torch.sigmoid(state.add_edge_logits(slot))
                candidates_mask = state.exists & (local < step) & ~joined
                has_candidate = scatter(candidates_mask.long(), graph, 0, dim_size=count,
                                        reduce="sum") > 0
                open_ = open_ & has_candidate & (
                    torch.rand(count, generator=generator, device=device) < p_edge)
                if not open_.any():
                    break
                candidates = torch.nonzero(candidates_mask & open_[graph])[:, 0]
                scores = state.pick_scores(candidates, slot)  # (C, R)
                # Gumbel-max draws one (u, r) per graph from the segment softmax.
                noise = -torch.log(-torch.log(
                    torch.rand(scores.shape, generator=generator, device=device)
                    .clamp_(1e-20, 1.0)))
                perturbed = scores + noise  # (C, R)
                best_r = perturbed.argmax(1)
                best = perturbed.amax(1)
                top = scatter(best, graph[candidates], 0, dim_size=count, reduce="max")
                # The first candidate at its graph's maximum (ties have probability zero).
                position = torch.arange(len(candidates), device=device)
                at_top = torch.where(best == top[graph[candidates]], position, len(candidates))
                winner = scatter(at_top, graph[candidates], 0, dim_size=count, reduce="min")
                winner = winner[open_]  # (n,) one row per graph adding an edge
                cu, cr = candidates[winner], best_r[winner]
                cv = slot[graph[cu]]
                joined = joined.index_fill(0, cu, True)
                state.add_edges(cu, cv, cr)
                edges.append(torch.stack([cu, cv, cr]))
        return _collect(types, torch.cat(edges, 1) if edges else graph.new_zeros(3, 0),
                        count, max_nodes, truncated)


def _collect(types: torch.Tensor, edges: torch.Tensor, count: int, max_nodes: int,
             truncated: torch.Tensor) -> list[Sample]:
    types = types.view(count, max_nodes).tolist()
    per_graph: list[list[tuple[int, int, int]]] = [[] for _ in range(count)]
    for u, v, r in edges.T.tolist():
        per_graph[u // max_nodes].append((u % max_nodes, v % max_nodes, r))
    return [Sample([t for t in row if t >= 0], sorted(per_graph[g]), bool(truncated[g]))
            for g, row in enumerate(types)]


def sample_graphs(model: DGMG, count: int, *, seed: int, max_nodes: int, max_edge_tries: int,
                  chunk: int) -> Sequence[Sample]:
    """``count`` samples in chunks of ``chunk``, from a generator seeded with ``seed``.

    The model is put in eval mode for sampling and restored afterwards; the global random
    state is not touched.
    """
    generator = torch.Generator(device=model.init.weight.device).manual_seed(seed)
    training = model.training
    model.eval()
    try:
        samples: list[Sample] = []
        while len(samples) < count:
            samples += model.sample(min(chunk, count - len(samples)), generator,
                                    max_nodes=max_nodes, max_edge_tries=max_edge_tries)
        return samples
    finally:
        model.train(training)
