"""The team server (``turnaround serve``): many reps' calls coached at once from one
process, each call isolated in its own session and overlay room, and the manager's
live view over all of them."""
