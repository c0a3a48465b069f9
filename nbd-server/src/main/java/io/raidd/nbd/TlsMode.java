package io.raidd.nbd;

/** How the server offers TLS (NBD_OPT_STARTTLS). */
public enum TlsMode {
    /** No TLS: STARTTLS is refused with ERR_POLICY ("NOTLS" in the protocol). */
    OFF,
    /** TLS offered, plain text allowed for every export ("SELECTIVETLS" with no TLS-only export). */
    ON,
    /** Every option but STARTTLS and ABORT is refused with ERR_TLS_REQD until TLS is up ("FORCEDTLS"). */
    REQUIRE
}
