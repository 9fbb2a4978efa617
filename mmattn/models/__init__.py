"""Backbones and attention operators. Imports torch and mmengine only, never mmpretrain/mmdet/mmseg."""
from .backbones import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
