"""The task engine: projects and item tasks, their state machines, operations,
permissions, deadlines, supervision, figures and the lists people work from."""
