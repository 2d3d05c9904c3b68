"""Ethereum primitives at the bottom of the package: modules here import nothing from copilot.

Every stage may use them (inputs, decoding, simulation, risk, audit); they never import a stage.
`logs` decodes event logs into asset movements and grants, for the audit's history and the simulation.
"""
