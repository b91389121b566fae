"""What a Lambda runtime and architecture accept: interpreter, ABI, glibc and wheel tags."""

from dataclasses import dataclass
from functools import cached_property

# python3.10/3.11 run on Amazon Linux 2 (glibc 2.26); python3.12+ on Amazon Linux 2023 (glibc 2.34).
_GLIBC_MINOR = {"python3.10": 26, "python3.11": 26}
_DEFAULT_GLIBC_MINOR = 34
_MACHINE = {"x86_64": "x86_64", "arm64": "aarch64"}
# The oldest manylinux each machine was ever built for: aarch64 wheels start at manylinux2014 (glibc 2.17).
_OLDEST_GLIBC_MINOR = {"x86_64": 5, "aarch64": 17}
_LEGACY_ALIASES = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}


@dataclass(frozen=True)
class Target:
    """The platform a function runs on in Lambda."""

    runtime: str
    architecture: str

    @property
    def python_version(self) -> str:
        return self.runtime.removeprefix("python")

    @property
    def abi(self) -> str:
        return "cp" + self.python_version.replace(".", "")

    @property
    def machine(self) -> str:
        return _MACHINE[self.architecture]

    @property
    def glibc_minor(self) -> int:
        return _GLIBC_MINOR.get(self.runtime, _DEFAULT_GLIBC_MINOR)

    @property
    def installable_glibc_minor(self) -> int:
        """The newest manylinux glibc the installer can target: uv knows manylinux_2_17 and 2_28 onwards only."""
        return self.glibc_minor if self.glibc_minor >= 28 else 17

    @cached_property
    def platforms(self) -> tuple[str, ...]:
        """manylinux platform tags the build installs for (the runtime's glibc accepts them all), newest first."""
        tags = []
        for minor in range(self.installable_glibc_minor, _OLDEST_GLIBC_MINOR[self.machine] - 1, -1):
            tags.append(f"manylinux_2_{minor}_{self.machine}")
            if minor in _LEGACY_ALIASES:
                tags.append(f"{_LEGACY_ALIASES[minor]}_{self.machine}")
        return tuple(tags)

    @cached_property
    def supported_tags(self) -> frozenset[str]:
        """Every wheel tag (python-abi-platform) this target can load."""
        from packaging.tags import compatible_tags, cpython_tags  # only needed after an install

        version = tuple(int(p) for p in self.python_version.split("."))
        tags = [*cpython_tags(version, [self.abi, "abi3", "none"], self.platforms)]
        tags += compatible_tags(version, self.abi, self.platforms)
        return frozenset(str(t) for t in tags)

    def describe_tags(self) -> str:
        """A compact, human-readable summary of the tags tried, for error messages."""
        newest, oldest = self.platforms[0], self.platforms[-1]
        return f"{self.abi}-{{{self.abi},abi3,none}}-{{{newest} .. {oldest}}}, py3-none-any"

    def marker_environment(self) -> dict[str, str]:
        """PEP 508 marker values as Lambda's interpreter reports them, for evaluating `; markers`."""
        return {
            "implementation_name": "cpython",
            "os_name": "posix",
            "platform_machine": self.machine,
            "platform_python_implementation": "CPython",
            "platform_system": "Linux",
            "python_full_version": f"{self.python_version}.0",
            "python_version": self.python_version,
            "sys_platform": "linux",
        }

    def uv_platform(self) -> str:
        """uv's --python-platform value closest to (never newer than) the runtime's glibc."""
        return f"{self.machine}-manylinux_2_{self.installable_glibc_minor}"

    def __str__(self) -> str:
        return f"{self.runtime} {self.architecture}"
