# eigennet._mpi: the optional MPI transport of DataParallel (built with EIGENNET_MPI=ON).
from typing import Any

def world(timeout: float) -> Any:
    """A capsule named "eigennet.Collective" over a duplicate of MPI_COMM_WORLD."""

def library_version() -> str: ...
