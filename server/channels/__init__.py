"""The channels beyond Web Push (Zalo ZNS and SMS), the ladder that escalates from one channel to the next, and
what they cost. Web Push and the inbox live in server/push; both senders follow server/channels/ladder.py."""
