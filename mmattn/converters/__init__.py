"""Key mappings from published checkpoint layouts to mmattn's; pure functions on state dicts."""
from .dat import convert_dat
from .datpp import convert_datpp
from .davit import convert_davit
from .dilateformer import convert_dilateformer
from .utils import ConversionError

__all__ = ['ConversionError', 'convert_dat', 'convert_datpp', 'convert_davit', 'convert_dilateformer']
