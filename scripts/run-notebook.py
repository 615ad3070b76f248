#!/usr/bin/python3
"""Executes one notebook headless on the tslab kernel and writes the executed copy (scripts/run-notebooks.sh runs it).

    /usr/bin/python3 scripts/run-notebook.py NOTEBOOK OUT_DIR [TIMEOUT_SECONDS]

nbclient (Debian's python3-nbclient, what jupyter-nbconvert --execute uses) instead of `jupyter-nbconvert --execute`
for one reason: tslab reports a failing cell only as text on the cell's stderr, with an execute_reply that has no
ename/evalue/traceback, so nbconvert's message for it is empty ("An error occurred while executing the following
cell: ... <Error>") and the executed copy with the text is not written. Here a failing cell's own output is printed
(and the partly executed copy kept as OUT_DIR/NAME.failed.ipynb), so the cause is in the log.
"""
import os
import sys

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def main():
    src, out_dir = sys.argv[1], sys.argv[2]
    timeout = int(sys.argv[3]) if len(sys.argv) > 3 else 3600
    nb = nbformat.read(src, as_version=4)
    failed = []
    client = NotebookClient(
        nb,
        kernel_name="tslab",
        timeout=timeout,
        # the kernel (node + TypeScript's language service) starts slowly on a busy machine
        startup_timeout=300,
        # outputs that arrive after a cell's reply are still collected, not dropped with a warning after 4 s
        iopub_timeout=60,
        resources={"metadata": {"path": os.getcwd()}},
        on_cell_error=lambda cell, cell_index, execute_reply: failed.append(cell_index),
    )
    name = os.path.splitext(os.path.basename(src))[0]
    os.makedirs(out_dir, exist_ok=True)
    try:
        client.execute()
    except CellExecutionError:
        i = failed[-1] if failed else None
        cell = nb.cells[i] if i is not None else None
        out = os.path.join(out_dir, name + ".failed.ipynb")
        nbformat.write(nb, out)
        sys.stderr.write("notebooks: %s: cell %s failed%s\n" % (src, i, "" if cell is None else ":"))
        if cell is not None:
            head = cell.source.splitlines()
            sys.stderr.write("".join("    | %s\n" % l for l in head[:6]) + ("    | ...\n" if len(head) > 6 else ""))
            text = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")
            text += "".join("%s: %s\n" % (o.get("ename"), o.get("evalue")) for o in cell.get("outputs", []) if o.get("output_type") == "error")
            sys.stderr.write("  its output:\n" + ("".join("    %s\n" % l for l in text.splitlines()) if text.strip() else "    (none)\n"))
        sys.stderr.write("  partly executed copy: %s\n" % out)
        return 1
    nbformat.write(nb, os.path.join(out_dir, name + ".ipynb"))
    stale = os.path.join(out_dir, name + ".failed.ipynb")
    if os.path.exists(stale):
        os.remove(stale)
    return 0


if __name__ == "__main__":
    sys.exit(main())
