package io.raidd.cli;

import picocli.CommandLine.IVersionProvider;

/** Version from the jar manifest (set by Maven), or "development". */
public final class Version implements IVersionProvider {
    @Override
    public String[] getVersion() {
        String v = Version.class.getPackage().getImplementationVersion();
        return new String[] {"raidd " + (v == null ? "development" : v)};
    }
}
