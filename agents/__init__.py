"""Networks: observation encoders, the gated Transformer-XL memory core, heads, the agent."""

from agents.agent import AGENT_SIZES, Agent, AgentConfig, agent_config, count_parameters
from agents.gtrxl import GTrXL, Memory

__all__ = ["AGENT_SIZES", "Agent", "AgentConfig", "GTrXL", "Memory", "agent_config",
           "count_parameters"]
