"""Molecules from SMILES files as torch-geometric graphs (RDKit), and back.

Each kept molecule is kekulized and renumbered in RDKit's canonical SMILES order, so the node
order is canonical and every atom after the first of its fragment bonds to an earlier atom
(SMILES is a depth-first traversal). Node types are elements from a fixed vocabulary, edge
types the Kekulé bond orders :data:`BOND_TYPES`.

DeepGMG cannot generate charges or stereo, so the filters of :func:`prepare_molecule` drop (or
strip) them; every dropped molecule is counted under its reason, logged and returned.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch
from rdkit import Chem, RDConfig
from rdkit.rdBase import BlockLogs
from torch_geometric.data import Data

__all__ = [
    "BOND_TYPES",
    "DROP_REASONS",
    "canonical_smiles",
    "default_smiles_path",
    "graph_to_mol",
    "load_molecules",
    "mol_to_data",
    "prepare_molecule",
    "read_smiles",
]

log = logging.getLogger(__name__)

BOND_TYPES = (Chem.BondType.SINGLE, Chem.BondType.DOUBLE, Chem.BondType.TRIPLE)
"""Edge types ``0, 1, 2``: Kekulé single, double and triple bonds."""

DROP_REASONS = ("unparsable", "charged", "chiral", "element", "size", "fragments")
"""Why :func:`prepare_molecule` drops a molecule, in the order the checks run."""


def default_smiles_path() -> Path:
    """RDKit's wheel's ``Data/NCI/first_5K.smi`` (4,999 NCI molecules, SMILES and id)."""
    return Path(RDConfig.RDDataDir) / "NCI" / "first_5K.smi"


def read_smiles(path: str | Path, limit: int = 0) -> list[str]:
    """The first whitespace-separated column of every non-empty line of ``path``.

    A first line ``smiles`` / ``SMILES`` (a CSV-style header) is skipped; ``limit > 0`` keeps
    the first ``limit`` molecules.

    :raises FileNotFoundError: naming the path when it does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"SMILES file {str(path)!r} does not exist")
    smiles = [line.split()[0] for line in path.read_text().splitlines() if line.strip()]
    if smiles and smiles[0].lower() == "smiles":
        smiles = smiles[1:]
    return smiles[:limit] if limit else smiles


def _largest_fragment(mol: Chem.Mol) -> Chem.Mol:
    # Ties go to the fragment that comes first in the SMILES.
    fragments = Chem.GetMolFrags(mol, asMols=True, sanitizeFrags=True)
    return max(fragments, key=lambda fragment: fragment.GetNumAtoms())


def prepare_molecule(smiles: str, *, atoms: Sequence[str], max_atoms: int,
                     charged: str = "drop", chirality: str = "drop",
                     fragments: str = "keep") -> tuple[Chem.Mol | None, str | None]:
    """Parse, filter, canonically renumber and kekulize one molecule.

    The checks run in the order of :data:`DROP_REASONS`; see
    :class:`~methodlab_torch_geometric.config.MoleculeParams` for the policies. With
    ``fragments = "largest"`` the smaller fragments are removed before the element and size
    checks.

    Returns:
        ``(mol, None)`` for a kept molecule (hydrogens implicit, Kekulé bonds, atoms in
        canonical SMILES order) or ``(None, reason)``.

    Example:
        >>> mol, _ = prepare_molecule("c1ccccc1O", atoms=("C", "O"), max_atoms=9)
        >>> [a.GetSymbol() for a in mol.GetAtoms()], mol.GetNumBonds()
        (['O', 'C', 'C', 'C', 'C', 'C', 'C'], 7)
        >>> prepare_molecule("C[C@H](N)O", atoms=("C", "N", "O"), max_atoms=9)
        (None, 'chiral')
    """
    mol = Chem.MolFromSmiles(smiles)
    if mol is None or mol.GetNumAtoms() == 0:
        return None, "unparsable"
    if charged == "drop" and any(atom.GetFormalCharge() for atom in mol.GetAtoms()):
        return None, "charged"
    stereo = (any(atom.GetChiralTag() != Chem.ChiralType.CHI_UNSPECIFIED
                  for atom in mol.GetAtoms())
              or any(bond.GetStereo() != Chem.BondStereo.STEREONONE for bond in mol.GetBonds()))
    if stereo and chirality == "drop":
        return None, "chiral"
    if stereo and chirality == "strip":
        Chem.RemoveStereochemistry(mol)
    several = len(Chem.GetMolFrags(mol)) > 1
    if several and fragments == "drop":
        return None, "fragments"
    if several and fragments == "largest":
        mol = _largest_fragment(mol)
    if any(atom.GetSymbol() not in atoms for atom in mol.GetAtoms()):
        return None, "element"
    if mol.GetNumAtoms() > max_atoms:
        return None, "size"
    # Renumber in canonical SMILES output order, then write aromatic rings as Kekulé bonds.
    Chem.MolToSmiles(mol)  # records the output order in the property read below
    order = [int(i) for i in mol.GetProp("_smilesAtomOutputOrder").strip("[]").split(",") if i]
    mol = Chem.RenumberAtoms(mol, order)
    Chem.Kekulize(mol, clearAromaticFlags=True)
    return mol, None


def mol_to_data(mol: Chem.Mol, atoms: Sequence[str], dtype: torch.dtype = torch.float32) -> Data:
    """An RDKit molecule as a graph whose node count is the atom count (FT-12).

    ``num_nodes`` is set explicitly, so an atom without bonds (the ``Na`` of a salt) keeps its
    node and batching never infers the count from ``edge_index``. Bonds are stored in both
    directions, sorted by ``(later atom, earlier atom)``: the order a sequential generator adds
    them in.

    Returns:
        ``Data`` with ``x`` ``(N, K)`` one-hot elements, ``node_type`` ``(N,)``,
        ``edge_index`` ``(2, 2E)``, ``edge_type`` ``(2E,)`` (index into :data:`BOND_TYPES`),
        ``edge_attr`` ``(2E, 3)`` one-hot.

    :raises ValueError: for an element outside ``atoms`` or a bond type outside
        :data:`BOND_TYPES` (an aromatic bond: kekulize first).
    """
    symbols = [atom.GetSymbol() for atom in mol.GetAtoms()]
    unknown = sorted(set(symbols) - set(atoms))
    if unknown:
        raise ValueError(f"elements {unknown} are not in the vocabulary {list(atoms)}")
    node_type = torch.tensor([atoms.index(symbol) for symbol in symbols], dtype=torch.long)
    bonds = []
    for bond in mol.GetBonds():
        if bond.GetBondType() not in BOND_TYPES:
            raise ValueError(f"bond type {bond.GetBondType()} is not one of {BOND_TYPES}; "
                             "kekulize the molecule first")
        u, v = sorted((bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()))
        bonds.append((v, u, BOND_TYPES.index(bond.GetBondType())))
    bonds.sort()
    columns = [end for v, u, _ in bonds for end in ((u, v), (v, u))]
    edge_index = torch.tensor(columns, dtype=torch.long).reshape(-1, 2).T  # (2, 2E)
    edge_type = torch.tensor([t for _, _, t in bonds for _ in range(2)], dtype=torch.long)
    n = len(symbols)
    return Data(x=torch.nn.functional.one_hot(node_type, len(atoms)).to(dtype),
                node_type=node_type, edge_index=edge_index, edge_type=edge_type,
                edge_attr=torch.nn.functional.one_hot(edge_type, len(BOND_TYPES)).to(dtype),
                num_nodes=n)


def load_molecules(smiles: Iterable[str], *, atoms: Sequence[str], max_atoms: int,
                   charged: str = "drop", chirality: str = "drop", fragments: str = "keep",
                   dtype: torch.dtype = torch.float32, label: str = "molecules",
                   ) -> tuple[list[Data], list[str], Counter]:
    """Filter and convert SMILES; returns graphs, their canonical SMILES and drop counts.

    The counts (``Counter`` over :data:`DROP_REASONS`) are logged at INFO in one line; the
    ``largest`` fragment policy additionally logs how many molecules it trimmed.
    """
    graphs, kept, dropped, trimmed = [], [], Counter(), 0
    with BlockLogs():  # parse errors are counted, not printed one by one
        for text in smiles:
            mol, reason = prepare_molecule(text, atoms=atoms, max_atoms=max_atoms,
                                           charged=charged, chirality=chirality,
                                           fragments=fragments)
            if reason is not None:
                dropped[reason] += 1
                continue
            if fragments == "largest" and "." in text:
                trimmed += 1
            graphs.append(mol_to_data(mol, atoms, dtype))
            kept.append(canonical_smiles(mol))
    counts = ", ".join(f"{reason} {dropped[reason]}" for reason in DROP_REASONS if dropped[reason])
    log.info("%s: kept %d, dropped %d (%s)", label, len(graphs), sum(dropped.values()),
             counts or "none")
    if trimmed:
        log.info("%s: kept only the largest fragment of %d molecules", label, trimmed)
    return graphs, kept, dropped


def canonical_smiles(mol: Chem.Mol) -> str:
    """RDKit's canonical SMILES with aromaticity perceived (so Kekulé forms compare equal).

    Example:
        >>> canonical_smiles(Chem.MolFromSmiles("C1=CC=CC=C1"))
        'c1ccccc1'
    """
    mol = Chem.Mol(mol)
    Chem.SanitizeMol(mol)
    return Chem.MolToSmiles(mol)


def graph_to_mol(node_types: Sequence[int], edges: Iterable[tuple[int, int, int]],
                 atoms: Sequence[str]) -> Chem.Mol | None:
    """Build and sanitize the molecule of a generated graph; ``None`` when RDKit rejects it.

    ``edges`` are ``(u, v, t)`` with ``t`` an index into :data:`BOND_TYPES`; hydrogens are
    implicit, so a valence the element cannot have makes sanitization fail.

    Example:
        >>> Chem.MolToSmiles(graph_to_mol([0, 0, 1], [(0, 1, 0), (1, 2, 1)], ["C", "O"]))
        'CC=O'
        >>> graph_to_mol([1, 1, 1], [(0, 1, 1), (1, 2, 1)], ["C", "O"]) is None
        True
    """
    if not node_types:
        return None
    mol = Chem.RWMol()
    for t in node_types:
        mol.AddAtom(Chem.Atom(atoms[t]))
    for u, v, t in edges:
        mol.AddBond(int(u), int(v), BOND_TYPES[t])
    try:
        with BlockLogs():  # an invalid sample is an outcome, not an error to print
            Chem.SanitizeMol(mol)
    except (Chem.rdchem.MolSanitizeException, ValueError, RuntimeError):
        return None
    return mol.GetMol()
