"""What a channel actor enforces in front of any adapter: TPS limit, window, circuit breaker."""

from engine.channels.gate import CircuitBreaker, TpsLimiter, Window

__all__ = ["CircuitBreaker", "TpsLimiter", "Window"]
