"""Function pools in a process of their own (pool_host.py): the endpoint's pools, off its interpreter lock."""

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lambdafleet.errors import UserError
from lambdafleet.runtime import FunctionSpec
from lambdafleet.runtime.pool import MAX_REQUEST_BYTES, PayloadTooLargeError
from lambdafleet.runtime.pool_host import HostGone, Pending, PoolHost
from lambdafleet.testing.processes import Process, descendants, describe, survivors

from .conftest import CACHE_DIR, PARENT_OF_A_SLEEPER, MakeZip, needs_sandbox

SLEEPER = "import time\n\ndef lambda_handler(event, context):\n    time.sleep(event.get('sleep', 0))\n    return 'ok'\n"


@pytest.fixture
def host() -> Iterator[PoolHost]:
    started = PoolHost()
    yield started
    started.close()


def _open(host: PoolHost, zip_path: Path, **spec: object) -> object:
    return host.open(
        spec=FunctionSpec(name="hosted", **spec),  # type: ignore[arg-type]
        zip_path=zip_path,
        cache_dir=CACHE_DIR,
        max_environments=4,
    )


def test_invocations_run_in_the_host_process_and_concurrently(host: PoolHost, make_zip: MakeZip) -> None:
    pool = _open(host, make_zip({"lambda_function.py": SLEEPER}))
    results = []

    def invoke() -> None:
        results.append(pool.invoke(payload=b'{"sleep": 1}'))  # type: ignore[attr-defined]

    threads = [threading.Thread(target=invoke) for _ in range(4)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert time.monotonic() - started < 3.5  # four environments at once, not one after another
    assert len(results) == 4 and all(not result.function_error for result in results)
    assert host._process is not None and host._process.pid != os.getpid()
    assert {result.log_stream for result in results} and len({result.request_id for result in results}) == 4


def test_errors_of_the_pool_are_raised_in_the_caller(host: PoolHost, make_zip: MakeZip) -> None:
    pool = _open(host, make_zip({"lambda_function.py": SLEEPER}))
    with pytest.raises(PayloadTooLargeError, match="Request must be smaller than"):
        pool.invoke(payload=b"x" * (MAX_REQUEST_BYTES + 1))  # type: ignore[attr-defined]
    with pytest.raises(UserError):
        _open(host, make_zip({"lambda_function.py": SLEEPER}), runtime="python2.7")


def test_closing_stops_the_host_and_its_environments(make_zip: MakeZip) -> None:
    host = PoolHost()
    pool = _open(host, make_zip({"lambda_function.py": SLEEPER}))
    assert not pool.invoke(payload=b"{}").function_error  # type: ignore[attr-defined]
    process = host._process
    assert process is not None
    host.close()
    assert process.poll() is not None  # close() waited for it
    with pytest.raises(HostGone):
        pool.invoke(payload=b"{}")  # type: ignore[attr-defined]


def test_a_host_that_died_is_replaced_for_new_pools(host: PoolHost, make_zip: MakeZip) -> None:
    zip_path = make_zip({"lambda_function.py": SLEEPER})
    first = _open(host, zip_path)
    assert host._process is not None
    host._process.kill()
    host._process.wait()
    with pytest.raises(HostGone) as gone:
        first.invoke(payload=b"{}")  # type: ignore[attr-defined]
    assert not gone.value.delivered  # never sent: the caller may run it elsewhere
    second = _open(host, zip_path)
    assert not second.invoke(payload=b"{}").function_error  # type: ignore[attr-defined]


def test_a_host_dying_during_an_invocation_says_the_event_was_delivered(host: PoolHost, make_zip: MakeZip) -> None:
    pool = _open(host, make_zip({"lambda_function.py": SLEEPER}))
    outcome: list[BaseException] = []

    def invoke() -> None:
        try:
            pool.invoke(payload=b'{"sleep": 5}')  # type: ignore[attr-defined]
        except HostGone as error:
            outcome.append(error)

    thread = threading.Thread(target=invoke)
    thread.start()
    time.sleep(1.0)
    assert host._process is not None
    host._process.kill()
    thread.join(timeout=10)
    assert len(outcome) == 1 and getattr(outcome[0], "delivered", False)


def test_a_bug_in_the_host_keeps_its_traceback(host: PoolHost, make_zip: MakeZip) -> None:
    """An internal error raised in the host reaches the caller with the host's frames: the endpoint's log shows
    where the bug is, not only pool_host's `raise`."""
    import traceback

    pool = _open(host, make_zip({"lambda_function.py": SLEEPER}))
    with pytest.raises(TypeError) as raised:
        pool.invoke(payload=b"{}", no_such_option=1)  # type: ignore[attr-defined]
    shown = "".join(traceback.format_exception(raised.value))
    assert "in _perform" in shown and "no_such_option" in shown, shown
    assert str(raised.value).endswith("'no_such_option'")  # the message itself is unchanged


def test_a_deadline_works_with_descriptors_past_select_s_limit(make_zip: MakeZip) -> None:
    """select() refuses a descriptor over FD_SETSIZE (1024), which a busy endpoint's connection may have."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f"the hard limit on open files is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200) if soft != resource.RLIM_INFINITY else soft, hard))
    fillers = [os.open(os.devnull, os.O_RDONLY) for _ in range(1050)]
    host = PoolHost()
    try:
        pool = _open(host, make_zip({"lambda_function.py": SLEEPER}))  # its connection: a descriptor over 1024
        assert pool.invoke(payload=b"{}", wait_s=30).payload == b'"ok"'  # type: ignore[attr-defined]
    finally:
        host.close()
        for descriptor in fillers:
            os.close(descriptor)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.skipif(not Path("/proc/self/fdinfo").exists(), reason="reads the host's descriptors in /proc")
def test_the_host_s_sockets_are_not_inherited_by_what_it_starts(host: PoolHost, make_zip: MakeZip) -> None:
    """A connection carries pickles (code, once unpickled): no process the host starts may inherit one, whatever
    way it is started. Descriptors received over SCM_RIGHTS, and pass_fds's, are inheritable unless made not."""
    pool = _open(host, make_zip({"lambda_function.py": SLEEPER}))
    assert not pool.invoke(payload=b"{}").function_error  # type: ignore[attr-defined]
    assert host._process is not None
    fds = Path(f"/proc/{host._process.pid}/fd")
    inherited = []
    for fd in fds.iterdir():
        if int(fd.name) <= 2:
            continue
        with contextlib.suppress(OSError):
            flags = int(
                Path(f"/proc/{host._process.pid}/fdinfo/{fd.name}").read_text().split("flags:")[1].split()[0], 8
            )
            if not flags & 0o2000000:  # O_CLOEXEC
                inherited.append((fd.name, os.readlink(fd)))
    assert not inherited, inherited


def _warm_and_busy(host: PoolHost, make_zip: MakeZip) -> set[Process]:
    """A pool with one idle warm environment and one busy for a minute; every process below the host."""
    pool = _open(host, make_zip({"lambda_function.py": PARENT_OF_A_SLEEPER}))
    assert not pool.invoke(payload=b"{}").function_error  # type: ignore[attr-defined]
    with pytest.raises(Pending):
        pool.invoke(payload=b'{"sleep": 60}', wait_s=1.0)  # type: ignore[attr-defined]
    assert host._process is not None
    below = descendants(host._process.pid)
    assert len(below) >= 4, describe(below)  # two environments (with the sandbox: their init and runtime), a child
    return below


def test_closing_the_host_stops_busy_environments_too(make_zip: MakeZip) -> None:
    """The endpoint closing the control socket is also how its death looks: nobody waits for a busy function."""
    host = PoolHost()
    below = _warm_and_busy(host, make_zip)
    host.close()
    left = survivors(below, timeout=10)
    assert not left, describe(left)


@needs_sandbox  # without the sandbox, a busy function runs on until it next calls the Runtime API
def test_environments_die_with_a_host_that_is_killed(make_zip: MakeZip) -> None:
    host = PoolHost()
    below = _warm_and_busy(host, make_zip)
    assert host._process is not None
    host._process.kill()
    left = survivors(below, timeout=10)
    host.close()
    assert not left, describe(left)
