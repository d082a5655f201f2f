#!/bin/bash
# The hand-written layer script from the blog post in ../shared/seed/, command for command.
# Only what the benchmark must set differs: the Python version (BENCH_PY, 3.11 because the
# corpus's wheels are Debian's cp311 builds; the post says 3.12) and the index (BENCH_INDEX_URL,
# added to the pip line as --index-url). The benchmark runs it from a fresh folder holding
# requirements.txt and an empty layers/, as the post's reader would.
PY="${BENCH_PY:?set BENCH_PY, e.g. 3.11}"
INDEX_URL="${BENCH_INDEX_URL:?set BENCH_INDEX_URL}"

# Remove old zip file if it exists
if [ -f "layers/custom-dependencies.zip" ]; then
    rm layers/custom-dependencies.zip
fi

# Remove old virtual environment if it exists
if [ -f "venv/" ]; then
    rm -rf venv/
fi

# Create a new virtual environment
python${PY} -m venv venv
source venv/bin/activate

# Install packages into the virtual environment
pip install --platform=manylinux2014_x86_64 --target=venv/lib/python${PY}/site-packages/ --python-version=${PY} --only-binary=:all: --index-url "${INDEX_URL}" -r requirements.txt

# Package the installed packages into a zip file
cp -r venv/ python/
zip -r -qq layers/custom-dependencies.zip python/lib/python${PY}/site-packages -x '*boto3*' -x '*botocore*'

# Clean up
rm -rf python/
rm -rf venv/

echo "Zip file created successfully!"
