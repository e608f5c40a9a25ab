"""`python -m velostream_kernel -f <connection file>`: start the Velostream SQL kernel."""

from ipykernel.kernelapp import IPKernelApp

from velostream_kernel.kernel import VeloKernel

if __name__ == "__main__":
    IPKernelApp.launch_instance(kernel_class=VeloKernel)
