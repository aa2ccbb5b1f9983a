"""Plan -> render -> describe -> compare -> refine: the planner, the shapes model and the describer in one loop."""
