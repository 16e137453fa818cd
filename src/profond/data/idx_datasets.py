"""MNIST and Fashion-MNIST from their IDX files: found locally or downloaded into the cache."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from profond.data.bundle import DataBundle
from profond.data.checks import check_images, check_labels
from profond.data.download import RemoteFile, download
from profond.data.idx import read_idx
from profond.data.registry import DataOptions, DatasetSpec, explicit_dir, resolve_dir
from profond.data.splits import image_bundle
from profond.errors import ProfondError
from profond.paths import cache_dir, profond_home

PARTS = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
FASHION_MIRRORS = (
    "https://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
)
# SHA-256 of the published .gz files (MNIST) or of the decompressed IDX content (Fashion-MNIST,
# whose archives some distributions recompress); both kinds are accepted by sha256_matches.
CHECKSUMS = {
    "mnist": (
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    ),
    "fashion-mnist": (
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    ),
}
CLASSES = {
    "mnist": [str(i) for i in range(10)],
    "fashion-mnist": [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ],
}  # fmt: skip


def remote_files(name: str) -> list[RemoteFile]:
    mirrors = MNIST_MIRRORS if name == "mnist" else FASHION_MIRRORS
    return [
        RemoteFile(f"{part}.gz", sha, mirrors)
        for part, sha in zip(PARTS, CHECKSUMS[name], strict=True)
    ]


def _files_in(folder: Path) -> tuple[list[Path], list[str]]:
    """The parts found in ``folder`` (``.gz`` or raw) and the names of those missing."""
    found, missing = [], []
    for part in PARTS:
        path = next((p for p in (folder / f"{part}.gz", folder / part) if p.is_file()), None)
        if path is None:
            missing.append(part)
        else:
            found.append(path)
    return found, missing


def find_files(name: str, options: DataOptions) -> list[Path] | None:
    """The four IDX files from the first folder that holds all of them (``.gz`` or raw).

    An explicit ``options.data_dir`` is the only folder looked at: it holds the files or the
    run stops saying what is missing there (never another copy found elsewhere).
    """
    folder = explicit_dir(options)
    if folder is not None:
        found, missing = _files_in(folder)
        if missing:
            raise ProfondError(
                f"--data-dir {folder} lacks {name} file(s) {', '.join(missing)} (.gz or raw); "
                "copy them there, or leave out --data-dir to use another copy or download them"
            )
        return found
    for folder in resolve_dir(options, name):
        found, missing = _files_in(folder)
        if not missing:
            return found
    return None


def locate(name: str, options: DataOptions) -> list[Path]:
    """Find the files locally, or download them into the cache when allowed."""
    found = find_files(name, options)
    if found:
        return found
    searched = ", ".join(str(p) for p in resolve_dir(options, name))
    if not options.download:
        raise ProfondError(
            f"{name} files not found (searched {searched}); pass --data-dir DIR or allow downloads"
        )
    target = cache_dir() / name
    try:
        return [download(remote, target) for remote in remote_files(name)]
    except ProfondError as exc:
        raise ProfondError(
            f"{name} is not available locally (searched {searched}) and {exc}"
        ) from None


def load_idx_dataset(name: str, options: DataOptions) -> DataBundle:
    paths = locate(name, options)
    train_x, train_y, test_x, test_y = (read_idx(p) for p in paths)
    classes = CLASSES[name]
    check_images(paths[0], train_x)
    check_images(paths[2], test_x)
    if train_x.shape[1:] != test_x.shape[1:]:
        raise ProfondError(
            f"{name}: training images are {train_x.shape[1]}x{train_x.shape[2]} "
            f"({paths[0]}) but test images are {test_x.shape[1]}x{test_x.shape[2]} "
            f"({paths[2]}); both files must come from the same dataset"
        )
    check_labels(paths[1], train_y, len(classes))
    check_labels(paths[3], test_y, len(classes))
    return image_bundle(name, train_x, train_y, test_x, test_y, classes, 255.0, options)


def status(name: str, options: DataOptions) -> str:
    try:
        found = find_files(name, options)
    except ProfondError as exc:
        return str(exc)
    if found:
        return f"local: {found[0].parent}"
    return f"not found locally; would download {len(PARTS)} files into {profond_home() / 'datasets' / name}"


DATASETS = {
    name: DatasetSpec(
        name=name,
        task="classification",
        description=description,
        load=partial(load_idx_dataset, name),
        status=partial(status, name),
        reads_files=True,
    )
    for name, description in (
        ("fashion-mnist", "Zalando's 28x28 clothing images (60000 train, 10000 test, 10 classes)"),
        ("mnist", "LeCun's 28x28 handwritten digits (60000 train, 10000 test, 10 classes)"),
    )
}
