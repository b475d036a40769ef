package org.mesofhir.testserver;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.IValidationSupport.IssueSeverity;
import ca.uhn.fhir.jpa.config.JpaConfig;
import ca.uhn.fhir.jpa.packages.IPackageInstallerSvc;
import ca.uhn.fhir.jpa.packages.PackageInstallationSpec;
import ca.uhn.fhir.rest.server.RestfulServer;
import ca.uhn.fhir.rest.server.interceptor.RequestValidatingInterceptor;
import ca.uhn.fhir.validation.IInstanceValidatorModule;
import ca.uhn.fhir.validation.ResultSeverityEnum;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.hl7.fhir.common.hapi.validation.support.UnknownCodeSystemWarningValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.ValidationSupportChain;
import org.hl7.fhir.common.hapi.validation.validator.FhirInstanceValidator;
import org.hl7.fhir.utilities.npm.NpmPackage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Optional request validation: HAPI_VALIDATE=1 (or -Dhapi.validate=true) turns it on, and
 * HAPI_PACKAGE=/abs/path/package.tgz adds a FHIR package whose profiles the validator then
 * knows. Spring maps the env variables onto hapi.validate / hapi.package by itself.
 */
@Configuration
public class PackageValidationConfig {

	private static final Logger LOG = LoggerFactory.getLogger(PackageValidationConfig.class);

	/**
	 * Runs once every singleton exists but before Tomcat accepts a request. An
	 * ApplicationReadyEvent listener would run after the port is open, so a client that saw
	 * /metadata answer could still write before the package or the validator were in place.
	 */
	@Bean
	public SmartInitializingSingleton installPackageAndValidator(
			@Value("${hapi.validate:false}") boolean validate,
			@Value("${hapi.package:}") String packagePath,
			IPackageInstallerSvc installer,
			@Qualifier("myInstanceValidator") IInstanceValidatorModule validatorModule,
			@Qualifier(JpaConfig.JPA_VALIDATION_SUPPORT_CHAIN) ValidationSupportChain chain,
			FhirContext fhirContext,
			RestfulServer server) {
		return () -> {
			if (!packagePath.isBlank()) {
				install(installer, Path.of(packagePath));
			}
			if (!validate) {
				return;
			}
			// A meta.profile the server does not know is a typo or a missing package: fail the
			// write. HAPI's default only notes it, and without validation stores it as is.
			((FhirInstanceValidator) validatorModule).setErrorForUnknownProfiles(true);
			// There is no terminology server here, and none may be reached: without this, every
			// LOINC or SNOMED CT code is an ERROR ("CodeSystem is unknown and can't be
			// validated") and every vital-sign Observation fails. Appended last, it answers
			// only for code systems nothing earlier in the chain knows; membership of a code in
			// an enumerated ValueSet is still checked.
			UnknownCodeSystemWarningValidationSupport unknownSystems =
					new UnknownCodeSystemWarningValidationSupport(fhirContext);
			unknownSystems.setNonExistentCodeSystemSeverity(IssueSeverity.WARNING);
			chain.addValidationSupport(unknownSystems);
			chain.invalidateCaches();
			RequestValidatingInterceptor interceptor = new RequestValidatingInterceptor();
			interceptor.setValidatorModules(List.of(validatorModule));
			interceptor.setFailOnSeverity(ResultSeverityEnum.ERROR);
			// Warnings (e.g. LOINC codes nobody here can check) go back in a header, not a 4xx.
			interceptor.setAddResponseOutcomeHeaderOnSeverity(ResultSeverityEnum.WARNING);
			server.registerInterceptor(interceptor);
			LOG.info("Request validation on (fail on ERROR, unknown profiles are errors)");
		};
	}

	private static void install(IPackageInstallerSvc installer, Path tgz) {
		byte[] bytes;
		NpmPackage npm;
		try {
			bytes = Files.readAllBytes(tgz);
			// HAPI wants name and version up front; take them from the package's own
			// package.json so the caller only has to name the file.
			npm = NpmPackage.fromPackage(new ByteArrayInputStream(bytes));
		} catch (IOException e) {
			throw new IllegalStateException("cannot read FHIR package " + tgz + ": " + e.getMessage(), e);
		}
		PackageInstallationSpec spec = new PackageInstallationSpec()
				.setName(npm.name())
				.setVersion(npm.version())
				// The bytes themselves, not a URL: nothing for HAPI to fetch.
				.setPackageContents(bytes)
				// STORE_ONLY keeps the profiles in the package tables, where the validation
				// chain finds them; STORE_AND_INSTALL would also create them as resources,
				// which the sync tests would then see in searches.
				.setInstallMode(PackageInstallationSpec.InstallModeEnum.STORE_ONLY)
				// Dependencies (hl7.fhir.r4.core) would be fetched from packages.fhir.org.
				.setFetchDependencies(false);
		installer.install(spec);
		LOG.info("Installed FHIR package {}#{} from {}", npm.name(), npm.version(), tgz);
	}
}
