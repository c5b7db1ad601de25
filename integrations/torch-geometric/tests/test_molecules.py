"""SMILES to graphs: filters and their counts, canonical order, FT-12 batching."""

from __future__ import annotations

import logging
import warnings

import pytest
import torch
from methodlab_torch_geometric.molecules import (
    default_smiles_path,
    graph_to_mol,
    load_molecules,
    mol_to_data,
    prepare_molecule,
    read_smiles,
)
from rdkit import Chem
from torch_geometric.data import Batch

ATOMS = ("C", "N", "O", "F", "S", "Cl", "Br", "Na")


def test_ft12_salt_keeps_its_isolated_atom_and_batch_offsets():
    # FT-12: acetate + Na+ has 5 atoms and 3 bonds, Na (index 4) bonded to nothing.
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "unable to infer num_nodes" would raise here
        graphs, _, dropped = load_molecules(["CC(=O)[O-].[Na+]", "CCO"], atoms=ATOMS,
                                            max_atoms=30, charged="keep")
        batch = Batch.from_data_list(graphs)
    assert not dropped
    assert [g.num_nodes for g in graphs] == [5, 3]
    assert [g.edge_index.shape[1] // 2 for g in graphs] == [3, 2]
    assert batch.ptr.tolist() == [0, 5, 8]
    assert batch.batch.tolist() == [0] * 5 + [1] * 3
    for g in graphs:
        assert int(g.edge_index.max()) < g.num_nodes
    # The isolated Na keeps its node and type, and has no edge.
    salt = graphs[0]
    sodium = ATOMS.index("Na")
    (na,) = (salt.node_type == sodium).nonzero()[:, 0].tolist()
    assert na not in salt.edge_index.flatten().tolist()


def test_ft12_largest_fragment_policy_is_logged(caplog):
    with caplog.at_level(logging.INFO, logger="methodlab_torch_geometric.molecules"):
        graphs, smiles, _ = load_molecules(["CC(=O)[O-].[Na+]", "CCO"], atoms=ATOMS,
                                           max_atoms=30, charged="keep", fragments="largest")
    assert [g.num_nodes for g in graphs] == [4, 3]
    assert Batch.from_data_list(graphs).ptr.tolist() == [0, 4, 7]
    assert smiles[0] == "CC(=O)[O-]"
    assert "kept only the largest fragment of 1 molecules" in caplog.text


def test_filters_count_what_they_drop(caplog):
    smiles = ["CCO", "C[N+](C)(C)C", "C[C@H](N)O", "F/C=C/F", "CC[Se]C", "C" * 12,
              "not-a-smiles", "CC.O", "c1ccccc1"]
    with caplog.at_level(logging.INFO, logger="methodlab_torch_geometric.molecules"):
        graphs, kept, dropped = load_molecules(smiles, atoms=ATOMS, max_atoms=10,
                                               fragments="drop", label="mix")
    assert kept == ["CCO", "c1ccccc1"] and [g.num_nodes for g in graphs] == [3, 6]
    assert dict(dropped) == {"charged": 1, "chiral": 2, "element": 1, "size": 1,
                             "unparsable": 1, "fragments": 1}
    assert "mix: kept 2, dropped 7 (unparsable 1, charged 1, chiral 2, element 1, size 1, " \
           "fragments 1)" in caplog.text
    # Stripping stereo keeps those molecules, without the labels.
    _, kept, dropped = load_molecules(smiles[2:4], atoms=ATOMS, max_atoms=10, chirality="strip")
    assert kept == ["CC(N)O", "FC=CF"] and not dropped


def test_aromatic_rings_become_kekule_bond_types():
    mol, reason = prepare_molecule("c1ccccc1", atoms=ATOMS, max_atoms=10)
    data = mol_to_data(mol, ATOMS)
    assert reason is None
    assert sorted(data.edge_type.tolist()) == [0] * 6 + [1] * 6  # 3 single, 3 double bonds
    assert data.x.shape == (6, len(ATOMS)) and data.edge_attr.shape == (12, 3)
    with pytest.raises(ValueError, match="kekulize"):
        mol_to_data(Chem.MolFromSmiles("c1ccccc1"), ATOMS)
    with pytest.raises(ValueError, match=r"elements \['P'\]"):
        mol_to_data(Chem.MolFromSmiles("CP"), ATOMS)


def test_rdkit_first_5k_counts_canonical_order_and_round_trip():
    smiles = read_smiles(default_smiles_path())
    assert len(smiles) == 4999
    graphs, kept, dropped = load_molecules(smiles, atoms=ATOMS[:7], max_atoms=30)
    assert len(graphs) == 3948
    assert dict(dropped) == {"unparsable": 8, "charged": 642, "element": 239, "size": 162}
    for data, text in zip(graphs[:300], kept[:300], strict=True):
        # Canonical order: every atom but a fragment's first bonds to an earlier atom.
        src, dst = data.edge_index
        earlier = {int(v) for u, v in zip(src.tolist(), dst.tolist(), strict=True) if u < v}
        mol = Chem.MolFromSmiles(text)
        firsts = {min(f) for f in Chem.GetMolFrags(mol)}
        assert earlier | firsts == set(range(data.num_nodes))
        # The graph decodes to the same molecule.
        edges = [(u, v, t) for (u, v), t in zip(data.edge_index.T.tolist(),
                                                 data.edge_type.tolist(), strict=True) if u < v]
        rebuilt = graph_to_mol(data.node_type.tolist(), edges, ATOMS[:7])
        assert Chem.MolToSmiles(rebuilt) == text


def test_read_smiles_skips_a_header_and_names_a_missing_file(tmp_path):
    path = tmp_path / "m.smi"
    path.write_text("SMILES\nCCO id1\n\nCCN\n")
    assert read_smiles(path) == ["CCO", "CCN"]
    assert read_smiles(path, limit=1) == ["CCO"]
    with pytest.raises(FileNotFoundError, match=r"nope\.smi"):
        read_smiles(tmp_path / "nope.smi")


def test_graph_to_mol_rejects_bad_valence_and_empty_graphs():
    assert graph_to_mol([], [], ATOMS) is None
    assert graph_to_mol([0] * 6, [(0, i, 0) for i in range(1, 6)], ATOMS) is None  # 5-valent C
    assert Chem.MolToSmiles(graph_to_mol([0, 0], [(0, 1, 2)], ATOMS)) == "C#C"
    assert torch.is_tensor(mol_to_data(graph_to_mol([0, 2], [(0, 1, 0)], ATOMS), ATOMS).x)
