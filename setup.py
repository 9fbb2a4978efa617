import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def read_requirements(name):
    lines = (HERE / 'requirements' / name).read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith('#')]


def read_version():
    text = (HERE / 'mmattn' / 'version.py').read_text()
    return re.search(r"__version__ = '([^']+)'", text).group(1)


setup(
    name='mmattn',
    version=read_version(),
    description='OpenMMLab-style training framework for DaViT, DilateFormer and DAT attention backbones',
    long_description=(HERE / 'README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'docs', 'reference', 'reference.*')),
    package_data={'mmattn.models.layers': ['csrc/*.cpp']},  # built on first use (cpu_kernels.py)
    python_requires='>=3.9',
    install_requires=read_requirements('runtime.txt') + read_requirements('mminstall.txt'),
    extras_require={
        'downstream': read_requirements('downstream.txt'),
        'tests': read_requirements('tests.txt'),
        'docs': read_requirements('docs.txt'),
        'all': (read_requirements('downstream.txt') + read_requirements('tests.txt') +
                read_requirements('docs.txt')),
    },
    license='Apache-2.0',
    zip_safe=False,
)
